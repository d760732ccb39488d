/**
 * Typed errors that the HTTP layer maps to RFC 9457 problem+json responses.
 * Components throw these; routes never build error responses by hand. Codes and their statuses
 * come from the catalogue (error-codes.ts).
 */
import { ERROR_CODES, errorMessage, type ErrorCode, type MessageParams, type UnprocessableCode } from './error-codes.ts';

const statusOf = (code: ErrorCode) => ERROR_CODES[code].status;
export class TachyonError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  /** Sent as Retry-After (seconds) when set: when a retry may succeed (429, 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>, retryAfterSeconds?: number) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The caller's mistake (a 4xx): repeating the same work cannot succeed, so it is never retried. */
export function isClientError(error: unknown): boolean {
  return error instanceof TachyonError && error.status < 500;
}

export class BadRequestError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(statusOf('bad_request'), 'bad_request', message, details);
  }
}

export class UnauthorizedError extends TachyonError {
  constructor(message = 'A valid API token is required: send "Authorization: Bearer <token>".') {
    super(statusOf('unauthorized'), 'unauthorized', message);
  }
}

export class ForbiddenError extends TachyonError {
  constructor(message = 'This route is for administrators.') {
    super(statusOf('forbidden'), 'forbidden', message);
  }
}

export class NotFoundError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(statusOf('not_found'), 'not_found', message, details);
  }
}

export class ConflictError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(statusOf('conflict'), 'conflict', message, details);
  }
}

/** A well-formed request the domain refuses (risk rejection, limits); `code` is stable for machines. */
export class UnprocessableError extends TachyonError {
  /** `message` as `unprocessable()` builds it from the code's template, or as recorded (a stored rejection). */
  constructor(code: UnprocessableCode, message: string, details?: Record<string, unknown>) {
    super(statusOf(code), code, message, details);
  }
}

/** A 422 whose message is the code's template filled with `params`. */
export function unprocessable<C extends UnprocessableCode>(code: C, params: MessageParams<C>, details?: Record<string, unknown>): UnprocessableError {
  return new UnprocessableError(code, errorMessage(code, params), details);
}

export class TooManyRequestsError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>, retryAfterSeconds?: number) {
    super(statusOf('rate_limited'), 'rate_limited', message, details, retryAfterSeconds);
  }
}

/** A retryable outage (database away, overload, recovery): always says when to retry. */
export class ServiceUnavailableError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>, retryAfterSeconds = 1) {
    super(statusOf('unavailable'), 'unavailable', message, details, retryAfterSeconds);
  }
}

/**
 * The instance asked does not own the account (its shard is moving between instances) and did
 * nothing: a retry, anywhere, is safe. Forwarding retries it itself (src/cluster/forwarding.ts).
 */
export class AccountMovingError extends TachyonError {
  constructor(accountId: number) {
    super(statusOf('account_moving'), 'account_moving', `account ${accountId} is moving between instances and nothing was done; retry`, { accountId }, 1);
  }
}

/** Invalid configuration: the process stops at start-up with this message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
