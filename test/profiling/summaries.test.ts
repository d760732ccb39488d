import { describe, expect, it } from 'vitest';
import { heapTrend, type MemorySample } from '../../src/profiling/memory-watch.ts';
import { diffConstructors, summarizeCpuProfile, type ConstructorSize } from '../../src/profiling/summaries.ts';

const sample = (at: number, heapUsed: number): MemorySample => ({ at, heapUsed, rss: 0, external: 0, arrayBuffers: 0 });

describe('heap trend', () => {
  it('measures a steady growth as bytes per minute with a straight fit', () => {
    const samples = Array.from({ length: 20 }, (_, i) => sample(i * 30_000, 100e6 + i * 1e6)); // +1 MB per 30 s
    const trend = heapTrend(samples);
    expect(trend.bytesPerMinute).toBeCloseTo(2e6, 0);
    expect(trend.r2).toBeCloseTo(1, 6);
    expect(trend.spanMs).toBe(19 * 30_000);
  });

  it('sees no trend in a flat, noisy heap', () => {
    const samples = Array.from({ length: 40 }, (_, i) => sample(i * 10_000, 100e6 + (i % 2 === 0 ? 3e6 : -3e6)));
    const trend = heapTrend(samples);
    expect(Math.abs(trend.bytesPerMinute)).toBeLessThan(0.2e6);
    expect(trend.r2).toBeLessThan(0.1);
  });

  it('gives no verdict from fewer than two samples', () => {
    expect(heapTrend([sample(0, 1)])).toEqual({ samples: 1, spanMs: 0, bytesPerMinute: 0, r2: 0 });
  });
});

describe('profile summaries', () => {
  it('charges each time delta to the frame of the previous sample', () => {
    const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0 });
    const summary = summarizeCpuProfile({
      nodes: [{ id: 1, callFrame: frame('(root)') }, { id: 2, callFrame: frame('hot') }, { id: 3, callFrame: frame('cold') }],
      startTime: 0,
      endTime: 10_000,
      samples: [2, 2, 2, 3, 2],
      timeDeltas: [0, 1000, 1000, 1000, 1000],
    });
    expect(summary.topSelf[0]).toEqual({ frame: 'hot', self: 3, share: 0.75 });
    expect(summary.topSelf[1]).toEqual({ frame: 'cold', self: 1, share: 0.25 });
  });

  it('diffs constructors by growth, ignoring what shrank', () => {
    const sizes = (entries: Array<[string, number, number]>) => new Map<string, ConstructorSize>(entries.map(([name, count, selfBytes]) => [name, { name, count, selfBytes }]));
    const growth = diffConstructors(sizes([['A', 1, 100], ['B', 10, 1000]]), sizes([['A', 1, 50], ['B', 20, 2000], ['C', 5, 500]]));
    expect(growth).toEqual([
      { name: 'B', countDelta: 10, bytesDelta: 1000 },
      { name: 'C', countDelta: 5, bytesDelta: 500 },
    ]);
  });
});
