/**
 * The capacity answer: how many instances (and cores, memory, database connections, Redis memory) a
 * user base needs at a target p95 with headroom, from a fitted USL curve of one instance. Latency at
 * concurrency N follows from Little's law (mean response time R = N / X(N)); the p95 is the mean times
 * the p95/mean ratio measured in the same runs. An instance is run at the largest concurrency whose
 * predicted p95 meets the target (and not past the curve's peak), less the headroom. Seed 004's linear
 * formula (instances = ⌈rps × response time / 100⌉) is computed beside it for comparison.
 */
import { uslThroughput, type UslFit } from './usl.ts';

export interface InstanceProfile {
  fit: UslFit;
  /** p95 / mean response time, measured in the runs the fit came from. */
  p95ToMean: number;
  /** Resources one instance uses under load (bench:memory, the pool size, the cache's L2 share). */
  cores: number;
  memoryBytes: number;
  databaseConnections: number;
  /** Redis memory per active user (cache entries, rate-limit state, sessions). */
  redisBytesPerUser: number;
}

export interface CapacityQuestion {
  users: number;
  requestsPerUserPerSecond: number;
  targetP95Ms: number;
  /** Fraction of each instance's capacity kept free (0.3 = run at 70%). */
  headroom: number;
}

export interface CapacityAnswer {
  requiredRps: number;
  perInstance: { concurrency: number; throughput: number; predictedP95Ms: number; usableRps: number };
  instances: number;
  cores: number;
  memoryBytes: number;
  databaseConnections: number;
  redisBytes: number;
  linearFormula: { responseTimeMs: number; instances: number };
  /** Set when no concurrency meets the target p95 on one instance. */
  infeasible: string | null;
}

export function predictedP95Ms(profile: InstanceProfile, n: number): number {
  return (n / uslThroughput(profile.fit, n)) * 1000 * profile.p95ToMean;
}

export function planCapacity(profile: InstanceProfile, q: CapacityQuestion): CapacityAnswer {
  const requiredRps = q.users * q.requestsPerUserPerSecond;
  const limit = Number.isFinite(profile.fit.peakConcurrency) ? Math.floor(profile.fit.peakConcurrency) : 4096;
  let best = 0;
  for (let n = 1; n <= Math.max(1, limit); n++) {
    if (predictedP95Ms(profile, n) <= q.targetP95Ms) best = n;
    else break;
  }
  const concurrency = Math.max(best, 1);
  const throughput = uslThroughput(profile.fit, concurrency);
  const usableRps = throughput * (1 - q.headroom);
  const instances = Math.max(1, Math.ceil(requiredRps / usableRps));
  const meanMs = (concurrency / throughput) * 1000;
  return {
    requiredRps,
    perInstance: { concurrency, throughput, predictedP95Ms: predictedP95Ms(profile, concurrency), usableRps },
    instances,
    cores: instances * profile.cores,
    memoryBytes: instances * profile.memoryBytes,
    databaseConnections: instances * profile.databaseConnections,
    redisBytes: q.users * profile.redisBytesPerUser,
    linearFormula: { responseTimeMs: meanMs, instances: Math.max(1, Math.ceil((requiredRps * meanMs) / 1000 / 100)) },
    infeasible: best === 0 ? `one request alone is predicted at ${predictedP95Ms(profile, 1).toFixed(1)} ms p95, above the ${q.targetP95Ms} ms target` : null,
  };
}
