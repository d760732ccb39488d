/**
 * A deliberate leak in this test process: the watch, fed by real GC events, must suspect it and its
 * snapshot pair must name the leaking constructor. GC is forced so post-GC samples arrive quickly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/kernel/clock.ts';
import { MemoryWatch } from '../../src/profiling/memory-watch.ts';
import { ProfilingSessions } from '../../src/profiling/sessions.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const dir = mkdtempSync(join(tmpdir(), 'tachyon-leak-test-'));
const logger = pino({ level: 'silent' });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class LeakyOrderBookEntry {
  readonly payload = new Array(64).fill(0).map((_, i) => ({ i }));
}

describe('leak detection', () => {
  it('suspects a steadily growing post-GC heap and names the constructor that grows', async () => {
    const watch = new MemoryWatch(
      { windowMs: 2_000, minSamples: 5, minGrowthBytesPerMinute: 1_000_000, minR2: 0.7, snapshots: true, snapshotGapMs: 300, snapshotCooldownMs: 60_000, maxSnapshotBytes: 512 * 1_048_576, dir },
      logger,
    );
    watch.start();
    const leaked: LeakyOrderBookEntry[] = [];
    const leak = setInterval(() => {
      for (let i = 0; i < 100; i++) leaked.push(new LeakyOrderBookEntry());
      gc();
    }, 100);
    try {
      await vi.waitFor(() => expect(watch.status().suspected).toBe(true), { timeout: 20_000, interval: 100 });
      expect(watch.metrics().leakSuspected).toBe(1);
      await vi.waitFor(() => expect(watch.status().lastReport).not.toBeNull(), { timeout: 60_000, interval: 200 });
    } finally {
      clearInterval(leak);
      await watch.stop();
    }
    const report = watch.status().lastReport!;
    expect(report.error).toBeNull();
    expect(report.growth![0]!.name).toBe('LeakyOrderBookEntry');
    expect(watch.status().gc.major!.count).toBeGreaterThan(0);
    leaked.length = 0;
  }, 120_000);

  it('a heap-snapshot session writes a snapshot DevTools can open and sizes it by constructor', async () => {
    const sessions = new ProfilingSessions(
      { dir, maxDurationMs: 10_000, maxSnapshotBytes: 512 * 1_048_576, keep: 5, cpuSamplingIntervalUs: 1000, heapSamplingIntervalBytes: 32_768 },
      systemClock,
      logger,
    );
    const keep = Array.from({ length: 5_000 }, () => new LeakyOrderBookEntry());
    const session = await sessions.start('heap-snapshot', 1000, 'test');
    await expect(sessions.start('cpu', 1000, 'test')).rejects.toThrow(/already running/);
    await sessions.close();
    expect(session.state).toBe('completed');
    const snapshot = JSON.parse(readFileSync(sessions.file(session.id).path, 'utf8')) as { snapshot: { node_count: number } };
    expect(snapshot.snapshot.node_count).toBeGreaterThan(5_000);
    const byConstructor = (session.summary as { byConstructor: Array<{ name: string; count: number }> }).byConstructor;
    expect(byConstructor.length).toBeGreaterThan(0);
    expect(keep.length).toBe(5_000);
  }, 120_000);
});
