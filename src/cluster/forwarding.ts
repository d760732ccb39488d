/**
 * Commands and live reads for an account this instance does not own go to the owner: the same
 * method, path, body, request id and the caller's own Authorization header, over internal HTTP with
 * a short timeout (cockatiel). A loop-guard header marks a forwarded request: its receiver serves it
 * when it owns the account now or answers 503 `account_moving` at once, and never forwards it again.
 * An owner that does not answer is forgotten, so the retry looks it up again (or takes its lapsed shard).
 *
 * During a handover (a rolling restart: the owner drains, hands its leases back, closes its listener)
 * the request is sent again, for up to about five seconds, when it certainly did not run on the
 * owner, and only then (an order must never execute twice):
 *  - the connection was refused (the owner has exited or not started listening);
 *  - the connection was reset before any answer: the owner's kernel discarded request bytes its
 *    process never read (an idle keep-alive connection closed by a stopping server just as the
 *    request arrived). A server that read the request and then died closes with a FIN, not a reset
 *    (nothing is left unread), which stays ambiguous: 503;
 *  - the owner has no live lease or address (lapsed, released, or still starting): nothing was sent;
 *  - the owner's server answered 503 while closing (Fastify's own, before any route ran), or the
 *    receiver answered `account_moving` (it is not the owner and did nothing).
 * Each attempt looks the owner up afresh, so the new owner (or this instance, taking the shard) serves it.
 */
import { ExponentialBackoff, handleType, retry as retryPolicy, TimeoutStrategy, timeout, type RetryPolicy, type TimeoutPolicy } from 'cockatiel';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { request as httpRequest } from 'undici';
import { AccountMovingError, ServiceUnavailableError } from '../kernel/errors.ts';
import type { ShardOwnership } from './shard-ownership.ts';

/** Marks a request one instance forwarded to another (its value: the sender's instance id). */
export const FORWARDED_HEADER = 'x-tachyon-forwarded-by';

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
    this.handover = retryPolicy(handleType(OwnerGone), { maxAttempts: 10, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 600 }) });
  }

  /**
   * Runs `local` when this instance owns the account (or takes it because nobody does) and resolves
   * its result; otherwise relays the owner's answer and resolves undefined (the reply is sent). When
   * the account moves away between the look and `local` (which then throws `account_moving` having
   * done nothing), a request from a client is forwarded after all; a forwarded one answers it.
   */
  async serve<T>(request: FastifyRequest, reply: FastifyReply, accountId: number, local: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      if (await this.forwarded(request, reply, accountId)) return undefined;
      try {
        return await local();
      } catch (error) {
        if (!(error instanceof AccountMovingError) || request.headers[FORWARDED_HEADER] !== undefined || attempt === 3) throw error;
      }
    }
  }

  /**
   * Serves the request here when this instance owns the account (or takes it because nobody does):
   * resolves false. Otherwise relays the owner's answer and resolves true (the reply is sent).
   */
  private async forwarded(request: FastifyRequest, reply: FastifyReply, accountId: number): Promise<boolean> {
    const started = performance.now();
    let local = false;
    try {
      local = !(await this.handover.execute(() => this.attempt(request, reply, accountId)));
      return !local;
    } catch (error) {
      if (!(error instanceof OwnerGone)) throw error;
      // Nothing was done anywhere: the same answer a receiver gives when the account is not its own.
      throw new AccountMovingError(accountId);
    } finally {
      // Finding the owner and waiting for its answer is the topology's time, not this instance's own:
      // HTTP telemetry keeps both (a canary, which owns no accounts, is judged on its own time).
      if (!local) request.forwardedMs += performance.now() - started;
    }
  }

  private async attempt(request: FastifyRequest, reply: FastifyReply, accountId: number): Promise<boolean> {
    if (this.ownership.ownsNow(accountId)) return false;
    // Forwarded here but not served here now (handing back, still loading, stopping): answer at once
    // rather than wait for the ownership chain, so the sender retries instead of timing out (which
    // would be ambiguous). A free shard is taken by the sender, which looked before forwarding.
    if (request.headers[FORWARDED_HEADER] !== undefined) throw new AccountMovingError(accountId);
    const owner = await this.ownership.owner(accountId);
    if (owner.local) return false;
    if (owner.address === null) {
      // No live owner with an address (lapsed, released, or still starting): nothing was sent, look again shortly.
      this.ownership.forgetOwner(accountId);
      throw new OwnerGone();
    }
    const headers: Record<string, string> = { [FORWARDED_HEADER]: this.options.instanceId, 'x-request-id': request.id };
    if (request.headers.authorization !== undefined) headers.authorization = request.headers.authorization;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let relayed: { statusCode: number; headers: Record<string, string | string[] | undefined>; payload: Buffer };
    let answered = false;
    try {
      // The body is read inside the policy: cockatiel aborts its signal once the function returns.
      relayed = await this.timeout.execute(async ({ signal }) => {
        const answer = await httpRequest(owner.address + request.url, { method: request.method as 'GET', headers, body, signal });
        answered = true;
        return { statusCode: answer.statusCode, headers: answer.headers, payload: Buffer.from(await answer.body.arrayBuffer()) };
      });
    } catch (error) {
      this.ownership.forgetOwner(accountId);
      const unread = !answered && neverRead(error);
      this.options.logger[unread ? 'info' : 'warn']({ err: error, accountId, owner: owner.holder }, 'forwarding to the account owner failed');
      if (unread) throw new OwnerGone();
      throw retry(reply, `the instance owning account ${accountId} did not answer; retry`);
    }
    if (relayed.statusCode === 503 && (closing(relayed.headers) || moving(relayed.payload))) {
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

/**
 * The owner's process never read the request: the connection was refused, or reset (or the write
 * hit a reset) before any answer, which the owner's kernel does when it closes a socket with unread
 * bytes or receives bytes for one already closed. See the module comment for why a FIN is not this.
 */
function neverRead(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** A receiver's `account_moving` answer: it is not the owner and did nothing. */
function moving(payload: Buffer): boolean {
  try {
    return (JSON.parse(payload.toString('utf8')) as { code?: unknown }).code === 'account_moving';
  } catch {
    return false;
  }
}

/** Fastify's own 503 while the server closes (return503OnClosing): no route ran; it is not problem+json. */
function closing(headers: Record<string, string | string[] | undefined>): boolean {
  return !String(headers['content-type'] ?? '').includes('application/problem+json');
}

function retry(reply: FastifyReply, message: string): ServiceUnavailableError {
  reply.header('retry-after', '1');
  return new ServiceUnavailableError(message);
}
