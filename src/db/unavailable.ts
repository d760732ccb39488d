/**
 * One place decides whether an error means "the database is away" (a 503 the client may retry)
 * rather than "this query is wrong" (a bug, a 500, or a constraint the caller broke). Both
 * adapters' shapes are recognised: pg's socket and protocol errors and SQLSTATEs, PGlite's closed
 * or crashed WebAssembly instance. The error handler maps a match to 503 with Retry-After.
 */

/** Socket-level failures pg reports as Node system errors. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATEs of availability rather than of the statement: class 08 (connection exception),
 * 53 (insufficient resources: too many connections, disk full, out of memory), 57P0x (the server is
 * shutting down or starting), 57014 (statement timeout: the server is too slow to answer now),
 * 58 (system / I/O error), 40001/40P01 are retried by their callers and are not matched here.
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('58') || code === '57014' || code === '57P01' || code === '57P02' || code === '57P03';
}

/** Messages pg and PGlite use for a lost or closed connection (they carry no code). */
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'Client was closed and is not queryable',
  'PGlite is closed',
  'PGlite is closing',
];

export function isDatabaseUnavailable(error: unknown): boolean {
  // Follow `cause` (components wrap errors), bounded against cycles.
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (matches(current)) return true;
  }
  return false;
}

function matches(error: Error): boolean {
  // A crashed PGlite instance (WebAssembly abort) serves nothing more until it is reopened.
  if (error.name === 'RuntimeError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)))) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  return MESSAGES.some((message) => error.message.includes(message));
}
