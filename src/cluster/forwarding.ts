/**
 * Commands and live reads for an account this instance does not own go to the owner: the same
 * method, path, body, request id and the caller's own Authorization header, over internal HTTP with
 * a short timeout (cockatiel). A loop-guard header marks a forwarded request: its receiver serves it
 * (taking the shard if nobody holds it) or answers 503, and never forwards it again. An owner that
 * does not answer is forgotten, so the retry looks it up again (or takes its lapsed shard).
 */
import { TimeoutStrategy, timeout, type TimeoutPolicy } from 'cockatiel';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { request as httpRequest } from 'undici';
import { ServiceUnavailableError } from '../kernel/errors.ts';
import type { ShardOwnership } from './shard-ownership.ts';

/** Marks a request one instance forwarded to another (its value: the sender's instance id). */
export const FORWARDED_HEADER = 'x-tachyon-forwarded-by';

/** Response headers the owner's answer keeps on its way back. */
const RELAYED = ['content-type', 'idempotent-replayed', 'retry-after', 'location'];

export class Forwarder {
  private readonly timeout: TimeoutPolicy;

  constructor(
    private readonly ownership: ShardOwnership,
    private readonly options: { instanceId: string; timeoutMs: number; logger: Logger },
  ) {
    this.timeout = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  }

  /**
   * Serves the request here when this instance owns the account (or takes it because nobody does):
   * resolves false. Otherwise relays the owner's answer and resolves true (the reply is sent).
   */
  async forwarded(request: FastifyRequest, reply: FastifyReply, accountId: number): Promise<boolean> {
    if (this.ownership.ownsNow(accountId)) return false;
    const owner = await this.ownership.owner(accountId);
    if (owner.local) return false;
    if (request.headers[FORWARDED_HEADER] !== undefined) throw retry(reply, `account ${accountId} is moving between instances; retry`);
    if (owner.address === null) {
      this.ownership.forgetOwner(accountId);
      throw retry(reply, `account ${accountId} is owned by an instance that is still starting; retry`);
    }
    const headers: Record<string, string> = { [FORWARDED_HEADER]: this.options.instanceId, 'x-request-id': request.id };
    if (request.headers.authorization !== undefined) headers.authorization = request.headers.authorization;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      // The body is read inside the policy: cockatiel aborts its signal once the function returns.
      const { answer, payload } = await this.timeout.execute(async ({ signal }) => {
        const answer = await httpRequest(owner.address + request.url, { method: request.method as 'GET', headers, body, signal });
        return { answer, payload: Buffer.from(await answer.body.arrayBuffer()) };
      });
      for (const name of RELAYED) {
        const value = answer.headers[name];
        if (value !== undefined) reply.header(name, value);
      }
      await reply.code(answer.statusCode).send(payload);
      return true;
    } catch (error) {
      this.ownership.forgetOwner(accountId);
      this.options.logger.warn({ err: error, accountId, owner: owner.holder }, 'forwarding to the account owner failed');
      throw retry(reply, `the instance owning account ${accountId} did not answer; retry`);
    }
  }
}

function retry(reply: FastifyReply, message: string): ServiceUnavailableError {
  reply.header('retry-after', '1');
  return new ServiceUnavailableError(message);
}
