import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../src/config/config.ts';
import { FeatureFlags, parseFlagOverrides } from '../../src/config/flags.ts';
import { ConfigError } from '../../src/kernel/errors.ts';

describe('configuration', () => {
  it('has working defaults on an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.market.instruments).toBeGreaterThanOrEqual(2000);
  });

  it('takes a Redis Cluster as REDIS_URL=redis+cluster://… or TACHYON_REDIS_CLUSTER_NODES, and names a malformed node list', () => {
    expect(loadConfig({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000' }).redisUrl).toBe('redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
    expect(loadConfig({ TACHYON_REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000' }).redisUrl).toBe('redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).redisUrl).toBe('redis://cache:6379');
    expect(() => loadConfig({ TACHYON_REDIS_CLUSTER_NODES: '10.0.0.1' })).toThrow(/TACHYON_REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a:99999' })).toThrow(/REDIS_URL/);
  });

  it('names every invalid variable and what it accepts', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).toContain('PORT="eighty" is invalid: expected an integer from 0 to 65535');
    expect(message).toContain('LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent');
    expect(message).toContain('DATABASE_URL');
  });

  it('fixes glibc’s mmap threshold for the embedded engine only, unless GLIBC_TUNABLES or TACHYON_MALLOC_MMAP_THRESHOLD says otherwise', () => {
    const threshold = (env: Record<string, string>) => loadConfig(env).mallocMmapThresholdBytes;
    expect(threshold({})).toBe(32_768);
    expect(threshold({ DATABASE_URL: 'postgres://db:5432/tachyon' })).toBeUndefined();
    expect(threshold({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' })).toBeUndefined();
    expect(threshold({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe(32_768);
    expect(threshold({ TACHYON_MALLOC_MMAP_THRESHOLD: 'glibc' })).toBeUndefined();
    expect(threshold({ TACHYON_MALLOC_MMAP_THRESHOLD: '65536', DATABASE_URL: 'postgres://db:5432/tachyon' })).toBe(65_536);
    expect(() => loadConfig({ TACHYON_MALLOC_MMAP_THRESHOLD: '1k' })).toThrow('TACHYON_MALLOC_MMAP_THRESHOLD="1k" is invalid: expected auto, glibc or an integer from 4096 to 33554432');
    expect(() => loadConfig({ TACHYON_MALLOC_MMAP_THRESHOLD: '100' })).toThrow(/TACHYON_MALLOC_MMAP_THRESHOLD/);
  });

  it('redacts tokens and URL passwords when printed', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app:s3cret@db:5432/tachyon', TACHYON_DEMO_TOKEN: 'demo-token-0123456789' });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain('s3cret');
    expect(printed).not.toContain('demo-token-0123456789');
    expect(printed).toContain('postgres://app:redacted@db:5432/tachyon');
  });
});

describe('feature flags', () => {
  it('registers with defaults, applies configured overrides, and switches at runtime', () => {
    const flags = new FeatureFlags(parseFlagOverrides('cache.l1=off'));
    const l1 = flags.register({ name: 'cache.l1', description: 'in-process cache', default: true });
    const gzip = flags.register({ name: 'http.compress', description: 'compression', default: true });
    expect(l1()).toBe(false);
    expect(gzip()).toBe(true);
    expect(flags.set('http.compress', false)).toBe(true);
    expect(gzip()).toBe(false);
    expect(flags.set('nope', true)).toBe(false);
    flags.setAll(true);
    expect(flags.list().map((f) => [f.name, f.enabled, f.source])).toEqual([
      ['cache.l1', true, 'runtime'],
      ['http.compress', true, 'runtime'],
    ]);
  });

  it('rejects malformed overrides', () => {
    expect(() => parseFlagOverrides('cache.l1=maybe')).toThrow(/name=on\|off/);
  });
});
