/**
 * The TaskQueue port's contract, run against every adapter (in-process and BullMQ): what a caller of
 * the port may rely on whichever queue the deployment has. Adapter-specific behaviour (batch timing
 * in-process, several workers sharing a Redis queue) stays in each adapter's own file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskContext, TaskPriority, TaskQueue } from '../../src/analysis/task-queue/port.ts';
import { NotFoundError } from '../../src/kernel/errors.ts';

export interface ContractSubject {
  /** A fresh, empty queue (its own name) with this many concurrent attempts. */
  open(concurrency?: number): TaskQueue;
  /** Resolves once the queue's worker takes jobs (after register). */
  ready(queue: TaskQueue): Promise<void>;
}

/** A promise the test resolves by hand: holds a slot busy without timing. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const WAIT_MS = 30_000;

export function taskQueueContract(name: string, subject: ContractSubject): void {
  describe(`TaskQueue contract: ${name}`, () => {
    const opened: TaskQueue[] = [];
    const open = (concurrency?: number) => {
      const queue = subject.open(concurrency);
      opened.push(queue);
      return queue;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });

    it('runs waiting tasks by priority, critical first', async () => {
      const queue = open(1);
      const order: string[] = [];
      const blocker = gate();
      const blocking = gate();
      queue.register<string, string>({
        type: 'job',
        handler: async (tasks) => {
          if (tasks[0]!.payload === 'blocker') {
            blocking.open();
            await blocker.promise;
          }
          order.push(...tasks.map((t) => t.payload));
          return tasks.map((t) => t.payload.toUpperCase());
        },
      });
      await subject.ready(queue);
      const first = await queue.enqueue({ type: 'job', payload: 'blocker' });
      await blocking.promise; // the blocker holds the only slot
      const plan: Array<[string, TaskPriority]> = [['low', 'low'], ['normal', 'normal'], ['high', 'high'], ['critical', 'critical']];
      const ids: string[] = [];
      for (const [payload, priority] of plan) ids.push(await queue.enqueue({ type: 'job', payload, priority }));
      expect((await queue.stats()).depth).toBe(4);
      blocker.open();
      const records = await Promise.all([first, ...ids].map((id) => queue.waitFor(id, WAIT_MS)));
      expect(order).toEqual(['blocker', 'critical', 'high', 'normal', 'low']);
      expect(records.map((r) => r.status)).toEqual(Array(5).fill('completed'));
      expect(records[1]!.result).toBe('LOW');
    });

    it('retries a failed attempt with backoff until it succeeds; a per-task Error fails only that task', async () => {
      const queue = open();
      queue.register<string, string>({
        type: 'flaky',
        backoffMs: 5,
        handler: async (tasks) =>
          tasks.map((t) => {
            if (t.payload === 'always-bad') return new Error('bad input');
            return t.attempt < 3 ? new Error(`transient ${t.attempt}`) : 'ok';
          }),
      });
      await subject.ready(queue);
      const good = await queue.enqueue({ type: 'flaky', payload: 'eventually', maxAttempts: 3 });
      const bad = await queue.enqueue({ type: 'flaky', payload: 'always-bad', maxAttempts: 2 });
      const [g, b] = await Promise.all([queue.waitFor(good, WAIT_MS), queue.waitFor(bad, WAIT_MS)]);
      expect(g).toMatchObject({ status: 'completed', attempts: 3, result: 'ok' });
      expect(b).toMatchObject({ status: 'failed', attempts: 2, error: 'bad input' });
      const stats = await queue.stats();
      expect(stats.byType.flaky).toMatchObject({ completed: 1, failed: 1, retried: 3 });
      expect(stats.completionRate).toBe(0.5);
    });

    it('never retries a client error (a 4xx such as an unknown symbol)', async () => {
      const queue = open();
      let calls = 0;
      queue.register<string, string>({ type: 'lookup', backoffMs: 5, handler: async (tasks) => tasks.map(() => (calls++, new NotFoundError('unknown symbol ZZZZ'))) });
      await subject.ready(queue);
      const id = await queue.enqueue({ type: 'lookup', payload: 'ZZZZ', maxAttempts: 3 });
      expect(await queue.waitFor(id, WAIT_MS)).toMatchObject({ status: 'failed', attempts: 1, error: 'unknown symbol ZZZZ' });
      expect(calls).toBe(1);
      expect((await queue.stats()).byType.lookup).toMatchObject({ failed: 1, retried: 0 });
    });

    it('a handler that throws fails the attempt, and the queue keeps working', async () => {
      const queue = open();
      queue.register<boolean, string>({
        type: 'maybe',
        handler: async (tasks) => {
          if (tasks[0]!.payload) throw new Error('crashed');
          return tasks.map(() => 'fine');
        },
      });
      await subject.ready(queue);
      const crash = await queue.enqueue({ type: 'maybe', payload: true, maxAttempts: 1 });
      expect(await queue.waitFor(crash, WAIT_MS)).toMatchObject({ status: 'failed', error: 'crashed' });
      const ok = await queue.enqueue({ type: 'maybe', payload: false });
      expect(await queue.waitFor(ok, WAIT_MS)).toMatchObject({ status: 'completed', result: 'fine' });
    });

    it('an attempt past its deadline has its signal aborted and fails', async () => {
      const queue = open();
      let aborted = false;
      queue.register({
        type: 'stuck',
        handler: (tasks) =>
          new Promise((_, reject) => {
            tasks[0]!.signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('gave up'));
            });
          }),
      });
      await subject.ready(queue);
      const id = await queue.enqueue({ type: 'stuck', payload: null, timeoutMs: 50, maxAttempts: 1 });
      const record = await queue.waitFor(id, WAIT_MS);
      expect(record.status).toBe('failed');
      expect(record.error).toMatch(/deadline/);
      expect(aborted).toBe(true);
    });

    it('cancels a waiting task and a running one (its signal aborts); a finished task cannot be cancelled', async () => {
      const queue = open(1);
      const started = gate();
      let signal: AbortSignal | undefined;
      queue.register({
        type: 'long',
        handler: (tasks: TaskContext[]) =>
          new Promise((_, reject) => {
            signal = tasks[0]!.signal;
            started.open();
            signal.addEventListener('abort', () => reject(new Error('aborted')));
          }),
      });
      await subject.ready(queue);
      const running = await queue.enqueue({ type: 'long', payload: 1, maxAttempts: 3 });
      await started.promise;
      const waiting = await queue.enqueue({ type: 'long', payload: 2 });
      expect(await queue.cancel(waiting)).toBe(true);
      expect(await queue.get(waiting)).toMatchObject({ status: 'cancelled', attempts: 0 });
      expect(await queue.cancel(running)).toBe(true);
      expect(await queue.waitFor(running, WAIT_MS)).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(signal!.aborted).toBe(true);
      expect(await queue.cancel(running)).toBe(false);
      expect(await queue.get('no-such-task')).toBeUndefined();
    });

    it('reports depth, completion rate, wait and execution time by type', async () => {
      const queue = open();
      queue.register({ type: 'a', handler: async (tasks) => tasks.map(() => 1) });
      await subject.ready(queue);
      const ids = await Promise.all(Array.from({ length: 5 }, () => queue.enqueue({ type: 'a', payload: null })));
      await Promise.all(ids.map((id) => queue.waitFor(id, WAIT_MS)));
      const stats = await queue.stats();
      expect(stats).toMatchObject({ depth: 0, running: 0, completionRate: 1 });
      expect(stats.byType.a).toMatchObject({ completed: 5, failed: 0 });
      expect(stats.byType.a!.waitMs.count).toBe(5);
      expect(stats.byType.a!.executionMs.count).toBeGreaterThan(0);
    });

    it('refuses an unknown priority with a 400 naming the field', async () => {
      const queue = open();
      queue.register({ type: 'a', handler: async (tasks) => tasks.map(() => 1) });
      await expect(queue.enqueue({ type: 'a', payload: null, priority: 'urgent' as TaskPriority })).rejects.toThrow(/^priority/);
    });
  });
}
