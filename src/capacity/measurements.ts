/**
 * The measurements a capacity plan is computed from: the file `npm run bench:capacity` writes
 * (bench/results/capacity.json), checked on read so a hand-edited or truncated file is one clear error.
 */
import { readFileSync } from 'node:fs';
import { unprocessable } from '../kernel/errors.ts';
import type { InstanceProfile } from './plan.ts';
import { fitUsl, type UslPoint } from './usl.ts';

export const DEFAULT_MEASUREMENTS = 'bench/results/capacity.json';

export interface Measurements {
  date: string;
  points: Array<UslPoint & { meanMs: number; p95Ms: number }>;
  profile: InstanceProfile;
}

/**
 * Redis memory per active user: an estimate (a cached portfolio and orders page of a few KB each, a
 * rate-limit bucket), not a measurement; `--redis-bytes-per-user` overrides it.
 */
export const REDIS_BYTES_PER_USER = 8 * 1024;

export function loadMeasurements(file = DEFAULT_MEASUREMENTS): Measurements {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw unprocessable('capacity_no_measurements', { file, reason: (error as Error).message });
  }
  const data = raw as { machine?: { date?: string }; points?: unknown; p95ToMean?: unknown; instance?: { cores?: unknown; memoryBytes?: unknown; databaseConnections?: unknown } };
  const points = Array.isArray(data.points) ? (data.points as Measurements['points']) : [];
  const valid = points.filter((p) => Number.isFinite(p.concurrency) && p.concurrency >= 1 && Number.isFinite(p.throughput) && p.throughput > 0);
  if (valid.length < 3 || typeof data.p95ToMean !== 'number' || !data.instance) {
    throw unprocessable('capacity_bad_measurements', { file });
  }
  return {
    date: data.machine?.date ?? 'unknown',
    points: valid,
    profile: {
      fit: fitUsl(valid),
      p95ToMean: data.p95ToMean,
      cores: Number(data.instance.cores ?? 1),
      memoryBytes: Number(data.instance.memoryBytes ?? 0),
      databaseConnections: Number(data.instance.databaseConnections ?? 20),
      redisBytesPerUser: REDIS_BYTES_PER_USER,
    },
  };
}
