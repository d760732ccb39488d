/** k6-style durations: "500ms", "30s", "1m30s", "2h"; a bare number is milliseconds. */
import { BadRequestError } from '../kernel/errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new BadRequestError(`invalid duration: ${value}`);
    return value;
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  let total = 0;
  let consumed = 0;
  for (const [whole, amount, unit] of parts) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
    consumed += whole.length;
  }
  if (consumed === 0 || consumed !== text.length) throw new BadRequestError(`invalid duration: "${value}" (use e.g. 500ms, 30s, 1m30s)`);
  return total;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(1))}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}
