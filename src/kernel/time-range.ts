/**
 * The dates the platform stores and accepts: 1970-01-01T00:00:00Z up to (not including)
 * 2100-01-01T00:00:00Z. Inside both PostgreSQL's timestamptz and JavaScript's Date range, so any
 * date a client sends is either refused at the edge or computed with safely.
 */
export const EARLIEST_TIME_MS = 0;
export const LATEST_TIME_MS = Date.UTC(2100, 0, 1) - 1;

export function inTimeRange(ms: number): boolean {
  return Number.isInteger(ms) && ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS;
}
