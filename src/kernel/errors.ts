/**
 * Typed errors that the HTTP layer maps to RFC 9457 problem+json responses.
 * Components throw these; routes never build error responses by hand.
 */
export class TachyonError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  /** Sent as Retry-After (seconds) when set: the caller may retry after this long. */
  retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The caller's mistake (a 4xx): repeating the same work cannot succeed, so it is never retried. */
export function isClientError(error: unknown): boolean {
  return error instanceof TachyonError && error.status < 500;
}

export class BadRequestError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'bad_request', message, details);
  }
}

export class UnauthorizedError extends TachyonError {
  constructor(message = 'A valid API token is required: send "Authorization: Bearer <token>".') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends TachyonError {
  constructor(message = 'This route is for administrators.') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(404, 'not_found', message, details);
  }
}

export class ConflictError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(409, 'conflict', message, details);
  }
}

/** A well-formed request the domain refuses (risk rejection, limits); `code` is stable for machines. */
export class UnprocessableError extends TachyonError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(422, code, message, details);
  }
}

export class TooManyRequestsError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>, retryAfterSeconds?: number) {
    super(429, 'rate_limited', message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class ServiceUnavailableError extends TachyonError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(503, 'unavailable', message, details);
  }
}

/** Invalid configuration: the process stops at start-up with this message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
