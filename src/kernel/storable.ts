/**
 * What PostgreSQL can store, checked before a value is sent to it: bigint columns hold safe
 * integers (JavaScript numbers past 2^53 are not exact anyway), integer columns 32-bit ones, text
 * holds well-formed Unicode without NUL. The HTTP edge (http/validation.ts) and the trading journal
 * both decide with these.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** NUL or any surrogate: only then is the text looked at closely. */
// eslint-disable-next-line no-control-regex -- NUL is what is looked for
const SUSPECT = /[\u0000\ud800-\udfff]/;
export const INT4_MAX = 2_147_483_647;

/** Why this text cannot be stored, or undefined when it can. */
export function textIssue(text: string): string | undefined {
  // One scan for the common case (every request's path and query text): nothing suspect at all.
  if (!SUSPECT.test(text)) return undefined;
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode text';
  return undefined;
}

/** A value for a bigint column (or a count of units/shares that ends in one). */
export function isBigint(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

/** A value for an integer (int4) column. */
export function isInt4(value: unknown): value is number {
  return Number.isInteger(value) && Math.abs(value as number) <= INT4_MAX;
}
