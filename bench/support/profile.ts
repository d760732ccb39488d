/**
 * Benchmark profiles: `full` (each bench's own defaults, minutes each) and `quick` (seconds per bench,
 * for a report on every change and the CI gate). The quick profile works through the BENCH_* knobs the
 * benches already read (durations, rounds, levels); a variable set by the caller always wins.
 */
export type Profile = 'quick' | 'full';

const QUICK_ENV: Readonly<Record<string, string>> = {
  BENCH_DURATION: '1',
  BENCH_SECONDS: '1',
  BENCH_IDLE: '1',
  BENCH_IDLE_SECONDS: '2',
  BENCH_ROUNDS: '3',
  BENCH_LEVELS: '1,4,16,32',
  BENCH_INSTANCES: '1,2',
  BENCH_OPS: '200000',
  BENCH_BATCH: '20000',
  BENCH_INSTRUMENTS: '200',
  BENCH_SEED_DAYS: '1',
  BENCH_COMMITS: '100',
};

export function profileOf(value: string | undefined): Profile {
  if (value === undefined || value === '' || value === 'full') return 'full';
  if (value === 'quick') return 'quick';
  throw new RangeError(`BENCH_PROFILE / --profile must be quick or full (got ${value})`);
}

/** The environment a bench runs with under a profile (the caller's BENCH_* variables kept). */
export function profileEnv(profile: Profile, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const defaults = profile === 'quick' ? QUICK_ENV : {};
  const out: NodeJS.ProcessEnv = { ...env, BENCH_PROFILE: profile };
  for (const [key, value] of Object.entries(defaults)) out[key] ??= value;
  return out;
}

/** A bench's own choice by profile (for knobs that are not a BENCH_* variable). */
export function byProfile<T>(quick: T, full: T): T {
  return profileOf(process.env.BENCH_PROFILE) === 'quick' ? quick : full;
}
