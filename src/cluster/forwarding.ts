/**
 * Commands and live reads for an account this instance does not own go to the owner: the same
 * method, path, body, request id and the caller's own Authorization header, over internal HTTP with
 * a short timeout (cockatiel). A loop-guard header marks a forwarded request: its receiver serves it
 * (taking the shard if nobody holds it) or answers 503, and never forwards it again. An owner that
 * does not answer is forgotten, so the retry looks it up again (or takes its lapsed shard).
 *
 * During a handover (a rolling restart: the owner drains, hands its leases back, exits) the request is
 * sent again, for up to about two seconds, when it certainly did not run on the owner: the connection
 * was refused, the owner has no address yet, the owner's server answered 503 while closing (before any
 * route ran), or the receiver is no longer the owner and said it ran nothing. Each attempt
 * looks the owner up afresh, so the new owner (or this instance, taking the shard) serves it.
 */
import { ExponentialBackoff, handleType, retry as retryPolicy, TimeoutStrategy, timeout, type RetryPolicy, type TimeoutPolicy } from 'cockatiel';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { request as httpRequest } from 'undici';
import { ServiceUnavailableError } from '../kernel/errors.ts';
import type { ShardOwnership } from './shard-ownership.ts';

/** Marks a request one instance forwarded to another (its value: the sender's instance id). */
export const FORWARDED_HEADER = 'x-tachyon-forwarded-by';

/** On a 503 a forwarded request's receiver sends before running anything (it is not the owner either). */
const NOT_RUN_HEADER = 'x-tachyon-not-run';

/** Response headers the owner's answer keeps on its way back. */
const RELAYED = ['content-type', 'idempotent-replayed', 'retry-after', 'location'];

/** The owner certainly did not run the request: safe to send it again to whoever owns the account next. */
class OwnerGone extends Error {}

export class Forwarder {
  private readonly timeout: TimeoutPolicy;
  private readonly handover: RetryPolicy;

  constructor(
    private readonly ownership: ShardOwnership,
    private readonly options: { instanceId: string; timeoutMs: number; logger: Logger },
  ) {
    this.timeout = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
    this.handover = retryPolicy(handleType(OwnerGone), { maxAttempts: 6, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 600 }) });
  }

  /**
   * Serves the request here when this instance owns the account (or takes it because nobody does):
   * resolves false. Otherwise relays the owner's answer and resolves true (the reply is sent).
   */
  async forwarded(request: FastifyRequest, reply: FastifyReply, accountId: number): Promise<boolean> {
    try {
      return await this.handover.execute(() => this.attempt(request, reply, accountId));
    } catch (error) {
      if (!(error instanceof OwnerGone)) throw error;
      throw retry(reply, `the instance owning account ${accountId} did not answer; retry`);
    }
  }

  private async attempt(request: FastifyRequest, reply: FastifyReply, accountId: number): Promise<boolean> {
    if (this.ownership.ownsNow(accountId)) return false;
    const owner = await this.ownership.owner(accountId);
    if (owner.local) return false;
    if (request.headers[FORWARDED_HEADER] !== undefined) {
      reply.header(NOT_RUN_HEADER, '1');
      throw retry(reply, `account ${accountId} is moving between instances; retry`);
    }
    if (owner.address === null) {
      // Owned by an instance still starting (no address yet): nothing was sent, look again shortly.
      this.ownership.forgetOwner(accountId);
      throw new OwnerGone();
    }
    const headers: Record<string, string> = { [FORWARDED_HEADER]: this.options.instanceId, 'x-request-id': request.id };
    if (request.headers.authorization !== undefined) headers.authorization = request.headers.authorization;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let relayed: { statusCode: number; headers: Record<string, string | string[] | undefined>; payload: Buffer };
    try {
      // The body is read inside the policy: cockatiel aborts its signal once the function returns.
      relayed = await this.timeout.execute(async ({ signal }) => {
        const answer = await httpRequest(owner.address + request.url, { method: request.method as 'GET', headers, body, signal });
        return { statusCode: answer.statusCode, headers: answer.headers, payload: Buffer.from(await answer.body.arrayBuffer()) };
      });
    } catch (error) {
      this.ownership.forgetOwner(accountId);
      this.options.logger.warn({ err: error, accountId, owner: owner.holder }, 'forwarding to the account owner failed');
      if (refused(error)) throw new OwnerGone();
      throw retry(reply, `the instance owning account ${accountId} did not answer; retry`);
    }
    if (relayed.statusCode === 503 && (closing(relayed.headers) || relayed.headers[NOT_RUN_HEADER] === '1')) {
      this.ownership.forgetOwner(accountId);
      throw new OwnerGone();
    }
    for (const name of RELAYED) {
      const value = relayed.headers[name];
      if (value !== undefined) reply.header(name, value);
    }
    await reply.code(relayed.statusCode).send(relayed.payload);
    return true;
  }
}

/** The connection was refused: nothing reached the owner (it has exited, or not started listening). */
function refused(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED';
}

/** Fastify's own 503 while the server closes (return503OnClosing): no route ran; it is not problem+json. */
function closing(headers: Record<string, string | string[] | undefined>): boolean {
  return !String(headers['content-type'] ?? '').includes('application/problem+json');
}

function retry(reply: FastifyReply, message: string): ServiceUnavailableError {
  reply.header('retry-after', '1');
  return new ServiceUnavailableError(message);
}
