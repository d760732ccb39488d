import { afterAll, describe, expect, it } from 'vitest';
import { BullMqTaskQueue } from '../../src/analysis/task-queue/bullmq.ts';
import type { TaskPriority } from '../../src/analysis/task-queue/port.ts';
import { deleteRedisKeys, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';
import { taskQueueContract } from './task-queue-contract.ts';

// Under CI=true a missing Redis throws here and fails the file; elsewhere it warns and skips.
const available = await redisAvailable();
const prefix = redisPrefix('analysis-queue').replace(/:$/, '');
const opened: BullMqTaskQueue[] = [];

/** Two instances on the same queue name (same prefix): what two processes of a deployment see. */
function pair(queueName: string, concurrency = 1): [BullMqTaskQueue, BullMqTaskQueue] {
  const make = () => new BullMqTaskQueue({ redisUrl: REDIS_TEST_URL, prefix, queueName, concurrency });
  const both: [BullMqTaskQueue, BullMqTaskQueue] = [make(), make()];
  opened.push(...both);
  return both;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let contractQueues = 0;
if (available) {
  taskQueueContract('BullMQ on Redis', {
    open: (concurrency = 1) => new BullMqTaskQueue({ redisUrl: REDIS_TEST_URL, prefix, queueName: `contract${contractQueues++}`, concurrency }),
    ready: (queue) => (queue as BullMqTaskQueue).ready(),
  });
}

describe.skipIf(!available)('BullMQ task queue on Redis', () => {
  afterAll(async () => {
    await Promise.all(opened.map((q) => q.close()));
    await deleteRedisKeys(prefix);
  });

  it('two workers share one queue and complete every task', async () => {
    const [a, b] = pair('shared');
    const processedBy: string[] = [];
    for (const [name, q] of [['a', a], ['b', b]] as const) {
      q.register<number, number>({
        type: 'double',
        handler: async (tasks) => {
          processedBy.push(name);
          await sleep(15);
          return tasks.map((t) => t.payload * 2);
        },
      });
    }
    await Promise.all([a.ready(), b.ready()]);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => a.enqueue({ type: 'double', payload: i })));
    const records = await Promise.all(ids.map((id) => b.waitFor(id, 30_000)));
    expect(records.map((r) => r.status)).toEqual(Array(20).fill('completed'));
    expect(records.map((r) => r.result)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(processedBy.filter((n) => n === 'a').length).toBeGreaterThan(0);
    expect(processedBy.filter((n) => n === 'b').length).toBeGreaterThan(0);
    const stats = await a.stats();
    expect(stats.completionRate).toBe(1);
    expect(stats.byType.double!.completed).toBe(20);
    expect(stats.depth).toBe(0);
  });

  it('serves higher priorities first', async () => {
    const [producer, worker] = pair('priorities');
    const plan: Array<[string, TaskPriority]> = [['low', 'low'], ['normal', 'normal'], ['high', 'high'], ['critical', 'critical']];
    const ids = [];
    for (const [payload, priority] of plan) ids.push(await producer.enqueue({ type: 'p', payload, priority }));
    expect((await producer.stats()).depth).toBe(4);
    const order: string[] = [];
    worker.register<string, null>({ type: 'p', handler: async (tasks) => tasks.map((t) => (order.push(t.payload), null)) });
    await Promise.all(ids.map((id) => producer.waitFor(id, 30_000)));
    expect(order).toEqual(['critical', 'high', 'normal', 'low']);
  });

  it('batches the jobs a worker holds', async () => {
    const [producer, worker] = pair('batches');
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => producer.enqueue({ type: 'sum', payload: i })));
    const sizes: number[] = [];
    worker.register<number, number>({
      type: 'sum',
      batch: { maxBatch: 4, maxWaitMs: 300 },
      handler: async (tasks) => {
        sizes.push(tasks.length);
        return tasks.map((t) => t.payload + 100);
      },
    });
    const records = await Promise.all(ids.map((id) => producer.waitFor(id, 30_000)));
    expect(records.map((r) => r.result)).toEqual(Array.from({ length: 8 }, (_, i) => i + 100));
    expect(sizes.reduce((s, n) => s + n, 0)).toBe(8);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
  });

  it('cancels a waiting task, and a running one on the instance that runs it', async () => {
    const [producer, worker] = pair('cancel');
    const waiting = await producer.enqueue({ type: 'slow', payload: null });
    expect(await producer.cancel(waiting)).toBe(true);
    expect(await producer.get(waiting)).toMatchObject({ status: 'cancelled', type: 'slow' });

    let started!: () => void;
    const isRunning = new Promise<void>((r) => (started = r));
    worker.register({
      type: 'slow',
      handler: (tasks) =>
        new Promise((_, reject) => {
          started();
          tasks[0]!.signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    });
    const running = await producer.enqueue({ type: 'slow', payload: null, maxAttempts: 3 });
    await isRunning;
    expect(await producer.cancel(running)).toBe(true);
    const record = await producer.waitFor(running, 30_000);
    expect(record).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(await producer.cancel(running)).toBe(false);
  });
});
