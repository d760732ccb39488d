/** Builds tiered caches for tests (L1 only, or on a given Redis) with every flag on. */
import pino from 'pino';
import { FeatureFlags } from '../../src/config/flags.ts';
import { registerCacheFlags } from '../../src/cache/flags.ts';
import { DEFAULT_POLICIES, type CachePolicies } from '../../src/cache/policies.ts';
import { TieredCache, type TieredCacheOptions } from '../../src/cache/tiered-cache.ts';

export function buildCache(overrides: Partial<Omit<TieredCacheOptions, 'flags'>> & { registry?: FeatureFlags } = {}): Promise<TieredCache> {
  const { registry = new FeatureFlags(), ...options } = overrides;
  return TieredCache.create({
    prefix: 'test',
    l1MaxBytes: 8 * 1_048_576,
    l1MaxEntries: 10_000,
    redis: undefined,
    compressAboveBytes: 1024,
    lockTtlMs: 2_000,
    writeBehindMs: 20,
    policies: DEFAULT_POLICIES,
    logger: pino({ level: 'silent' }),
    ...options,
    flags: registerCacheFlags(registry),
  });
}

export function policies(changes: Partial<CachePolicies>): CachePolicies {
  return { ...DEFAULT_POLICIES, ...changes };
}

/** A loader over a fake "database" row that counts its calls. */
export function counter<T>(read: () => T, delayMs = 0) {
  const state = { calls: 0 };
  const load = async (): Promise<T> => {
    state.calls++;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return read();
  };
  return { state, load };
}
