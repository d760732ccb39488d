import { afterEach, describe, expect, it } from 'vitest';
import { InProcessTaskQueue } from '../../src/analysis/task-queue/in-process.ts';
import type { TaskPriority } from '../../src/analysis/task-queue/port.ts';
import { BadRequestError } from '../../src/kernel/errors.ts';
import { taskQueueContract } from './task-queue-contract.ts';

taskQueueContract('in-process', { open: (concurrency) => new InProcessTaskQueue({ concurrency }), ready: async () => {} });

let queue: InProcessTaskQueue;
afterEach(() => queue?.close());

describe('in-process task queue', () => {
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

  it('rejects unknown types and priorities with a 400 naming the field', async () => {
    queue = new InProcessTaskQueue();
    queue.register({ type: 'a', handler: async (tasks) => tasks.map(() => 1) });
    await expect(queue.enqueue({ type: 'b', payload: null })).rejects.toThrow(BadRequestError);
    await expect(queue.enqueue({ type: 'a', payload: null, priority: 'urgent' as TaskPriority })).rejects.toThrow(/^priority/);
  });
});
