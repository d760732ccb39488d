import { afterEach, describe, expect, it } from 'vitest';
import { InProcessTaskQueue } from '../../src/analysis/task-queue/in-process.ts';
import type { TaskContext, TaskPriority } from '../../src/analysis/task-queue/port.ts';
import { BadRequestError, NotFoundError } from '../../src/kernel/errors.ts';

/** A promise the test resolves by hand: holds the queue's only slot busy without timing. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

let queue: InProcessTaskQueue;
afterEach(() => queue?.close());

describe('in-process task queue', () => {
  it('runs tasks by priority, then in arrival order', async () => {
    queue = new InProcessTaskQueue({ concurrency: 1 });
    const order: string[] = [];
    const blocker = gate();
    queue.register<string, string>({
      type: 'job',
      handler: async (tasks) => {
        if (tasks[0]!.payload === 'blocker') await blocker.promise;
        order.push(tasks[0]!.payload);
        return tasks.map((t) => t.payload.toUpperCase());
      },
    });
    const first = await queue.enqueue({ type: 'job', payload: 'blocker' });
    await new Promise((r) => setImmediate(r)); // the blocker now holds the only slot
    const plan: Array<[string, TaskPriority]> = [['low-1', 'low'], ['normal-1', 'normal'], ['high-1', 'high'], ['critical-1', 'critical'], ['high-2', 'high'], ['low-2', 'low']];
    const ids = await Promise.all(plan.map(([payload, priority]) => queue.enqueue({ type: 'job', payload, priority })));
    expect((await queue.stats()).depth).toBe(6);
    blocker.open();
    const records = await Promise.all([first, ...ids].map((id) => queue.waitFor(id)));
    expect(order).toEqual(['blocker', 'critical-1', 'high-1', 'high-2', 'normal-1', 'low-1', 'low-2']);
    expect(records.every((r) => r.status === 'completed')).toBe(true);
    expect(records[1]!.result).toBe('LOW-1');
  });

  it('batches up to maxBatch, and flushes a partial batch after maxWaitMs', async () => {
    queue = new InProcessTaskQueue({ concurrency: 4 });
    const batches: number[][] = [];
    queue.register<number, number>({
      type: 'square',
      batch: { maxBatch: 5, maxWaitMs: 20 },
      handler: async (tasks) => {
        batches.push(tasks.map((t) => t.payload));
        return tasks.map((t) => t.payload * t.payload);
      },
    });
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => queue.enqueue({ type: 'square', payload: i })));
    const records = await Promise.all(ids.map((id) => queue.waitFor(id)));
    expect(batches).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]);
    expect(records.map((r) => r.result)).toEqual(Array.from({ length: 12 }, (_, i) => i * i));
  });

  it('respects the concurrency limit', async () => {
    queue = new InProcessTaskQueue({ concurrency: 2 });
    let active = 0;
    let peak = 0;
    queue.register({
      type: 'io',
      handler: async (tasks) => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 2));
        active--;
        return tasks.map(() => null);
      },
    });
    const ids = await Promise.all(Array.from({ length: 10 }, () => queue.enqueue({ type: 'io', payload: null })));
    await Promise.all(ids.map((id) => queue.waitFor(id)));
    expect(peak).toBe(2);
  });

  it('retries with backoff and then succeeds; a per-task Error fails only that task', async () => {
    queue = new InProcessTaskQueue();
    const seen = new Map<string, number>();
    queue.register<string, string>({
      type: 'flaky',
      backoffMs: 1,
      handler: async (tasks) =>
        tasks.map((t) => {
          seen.set(t.payload, t.attempt);
          if (t.payload === 'always-bad') return new Error('bad input');
          if (t.attempt < 3) return new Error(`transient ${t.attempt}`);
          return 'ok';
        }),
    });
    const good = await queue.enqueue({ type: 'flaky', payload: 'eventually', maxAttempts: 3 });
    const bad = await queue.enqueue({ type: 'flaky', payload: 'always-bad', maxAttempts: 2 });
    const [g, b] = await Promise.all([queue.waitFor(good), queue.waitFor(bad)]);
    expect(g).toMatchObject({ status: 'completed', attempts: 3, result: 'ok' });
    expect(b).toMatchObject({ status: 'failed', attempts: 2, error: 'bad input' });
    const stats = await queue.stats();
    expect(stats.byType.flaky).toMatchObject({ completed: 1, failed: 1, retried: 3 });
    expect(stats.completionRate).toBe(0.5);
  });

  it('never retries a client error (a 4xx such as an unknown symbol)', async () => {
    queue = new InProcessTaskQueue();
    let calls = 0;
    queue.register<string, string>({
      type: 'lookup',
      backoffMs: 1,
      handler: async (tasks) => tasks.map(() => (calls++, new NotFoundError('unknown symbol ZZZZ'))),
    });
    const id = await queue.enqueue({ type: 'lookup', payload: 'ZZZZ', maxAttempts: 3 });
    expect(await queue.waitFor(id)).toMatchObject({ status: 'failed', attempts: 1, error: 'unknown symbol ZZZZ' });
    expect(calls).toBe(1);
    expect((await queue.stats()).byType.lookup).toMatchObject({ failed: 1, retried: 0 });
  });

  it('a handler that throws fails the attempt; the queue keeps working', async () => {
    queue = new InProcessTaskQueue();
    queue.register<boolean, string>({
      type: 'maybe',
      handler: async (tasks) => {
        if (tasks[0]!.payload) throw new Error('crashed');
        return ['fine'];
      },
    });
    const crash = await queue.enqueue({ type: 'maybe', payload: true, maxAttempts: 1 });
    expect(await queue.waitFor(crash)).toMatchObject({ status: 'failed', error: 'crashed' });
    const ok = await queue.enqueue({ type: 'maybe', payload: false });
    expect(await queue.waitFor(ok)).toMatchObject({ status: 'completed', result: 'fine' });
  });

  it('times out an attempt, aborting its signal', async () => {
    queue = new InProcessTaskQueue();
    let aborted: unknown;
    queue.register({
      type: 'stuck',
      handler: (tasks) =>
        new Promise((_, reject) => {
          tasks[0]!.signal.addEventListener('abort', () => {
            aborted = tasks[0]!.signal.reason;
            reject(tasks[0]!.signal.reason);
          });
        }),
    });
    const id = await queue.enqueue({ type: 'stuck', payload: null, timeoutMs: 10, maxAttempts: 1 });
    const record = await queue.waitFor(id);
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/deadline/);
    expect(aborted).toMatchObject({ reason: 'timeout' });
  });

  it('cancels queued and running tasks', async () => {
    queue = new InProcessTaskQueue({ concurrency: 1 });
    const started = gate();
    let signal: AbortSignal | undefined;
    queue.register({
      type: 'long',
      handler: (tasks: TaskContext[]) =>
        new Promise((resolve) => {
          signal = tasks[0]!.signal;
          started.open();
          signal.addEventListener('abort', () => resolve([new Error('aborted')]));
        }),
    });
    const running = await queue.enqueue({ type: 'long', payload: 1 });
    const waiting = await queue.enqueue({ type: 'long', payload: 2 });
    await started.promise;
    expect(await queue.cancel(waiting)).toBe(true);
    expect(await queue.get(waiting)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(await queue.cancel(running)).toBe(true);
    expect(signal!.aborted).toBe(true);
    expect(await queue.waitFor(running)).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(await queue.cancel(running)).toBe(false);
    const stats = await queue.stats();
    expect(stats.byType.long).toMatchObject({ cancelled: 2, queued: 0 });
    expect(stats.completionRate).toBeNull();
  });

  it('reports depth, wait and execution time by type', async () => {
    queue = new InProcessTaskQueue();
    queue.register({ type: 'a', handler: async (tasks) => tasks.map(() => 1) });
    const ids = await Promise.all(Array.from({ length: 5 }, () => queue.enqueue({ type: 'a', payload: null })));
    await Promise.all(ids.map((id) => queue.waitFor(id)));
    const stats = await queue.stats();
    expect(stats).toMatchObject({ depth: 0, running: 0, completionRate: 1 });
    expect(stats.byType.a!.waitMs.count).toBe(5);
    expect(stats.byType.a!.executionMs.count).toBe(5);
    expect(stats.byType.a!.executionMs.p95).toBeGreaterThan(0);
  });

  it('rejects unknown types and priorities with a 400 naming the field', async () => {
    queue = new InProcessTaskQueue();
    queue.register({ type: 'a', handler: async (tasks) => tasks.map(() => 1) });
    await expect(queue.enqueue({ type: 'b', payload: null })).rejects.toThrow(BadRequestError);
    await expect(queue.enqueue({ type: 'a', payload: null, priority: 'urgent' as TaskPriority })).rejects.toThrow(/^priority/);
  });
});
