/**
 * API tokens: 32 random bytes, base64url, with a readable prefix so a leaked token is recognisable
 * in scanners. Only the SHA-256 hash is stored: tokens are high-entropy, so a fast hash is safe
 * (no dictionary to defend against) and keeps cold authentication cheap.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'tyn_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The first characters of a token, safe to show and log to tell keys apart. */
export function tokenHint(token: string): string {
  return token.slice(0, 8) + '…';
}
