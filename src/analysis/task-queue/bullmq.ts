/**
 * Task queue on Redis through BullMQ (scaled deployment): every instance enqueues into and works
 * from the same queue, so work spreads over instances and survives a crash (a stalled job returns
 * to the queue). Mapping of the port onto BullMQ:
 *  - priority → BullMQ priority 1 (critical) … 4 (low); retries → attempts + exponential backoff;
 *  - batching → local micro-batches of the jobs this instance holds (see batcher.ts); the worker
 *    takes concurrency × maxBatch jobs at once so batches can fill, handler calls stay ≤ concurrency;
 *  - deadline → the job's signal aborts and the attempt fails (retryable), counted from when this
 *    instance takes the job;
 *  - cancellation → a waiting job is removed; a running one is aborted on whichever instance runs it
 *    (Redis pub/sub → worker.cancelJob) and fails without retry; cancel() answers once that run has
 *    stopped (its signal aborted), or after CANCEL_CONFIRM_MS if no instance stops it (the marker then
 *    stops its next attempt); a marker key makes get() report `cancelled` in both cases;
 *  - completion counters live in a Redis hash shared by all instances; wait/execution histograms
 *    are this instance's (scrape every instance). byType.queued/running are the tasks this instance
 *    holds; the shared backlog is `depth`.
 * Every instance must register the same task types.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { closeRedisClient, createRedisClient, slotTagged, type RedisClient } from '../../kernel/redis-client.ts';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { bulkhead, timeout, TimeoutStrategy, type BulkheadPolicy } from 'cockatiel';
import { BadRequestError, isClientError } from '../../kernel/errors.ts';
import { Batcher } from './batcher.ts';
import { QueueMetrics } from './metrics.ts';
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TASK_TIMEOUT_MS,
  PRIORITIES,
  isFinal,
  type EnqueueRequest,
  type HandlerRegistration,
  type QueueStats,
  type TaskQueue,
  type TaskRecord,
  type TaskStatus,
} from './port.ts';

/** How long a stop waits for running jobs and a graceful close before dropping the connections. */
const CLOSE_TIMEOUT = timeout(10_000, TimeoutStrategy.Aggressive);
/** How long dropped connections may take to end. */
const DROP_TIMEOUT = timeout(2_000, TimeoutStrategy.Aggressive);

export interface BullMqQueueOptions {
  redisUrl: string;
  /** Key prefix: separates deployments (and test runs) sharing one Redis. */
  prefix: string;
  queueName?: string;
  /** Handler calls running at once on this instance. */
  concurrency?: number;
  /** Finished jobs kept for get() (by count, and for a day at most). */
  retainFinished?: number;
  /** Poll interval of waitFor(). */
  pollMs?: number;
}

interface JobData {
  payload: unknown;
  timeoutMs: number;
}

const CANCEL_TTL_S = 86_400;
/** How long cancel() waits for the instance running a task to stop it. */
const CANCEL_CONFIRM_MS = 5_000;

export class BullMqTaskQueue implements TaskQueue {
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly queue: Queue<JobData>;
  private worker: Worker<JobData> | undefined;
  private readonly registrations = new Map<string, { registration: HandlerRegistration; batcher: Batcher }>();
  private readonly metrics = new QueueMetrics();
  private readonly slots: BulkheadPolicy;
  private readonly keys: { stats: string; cancelled: (id: string) => string; channel: string };
  private readonly options: Required<Omit<BullMqQueueOptions, 'redisUrl' | 'prefix'>>;
  private readonly prefix: string;
  private subscribed: Promise<unknown> = Promise.resolve();

  constructor(options: BullMqQueueOptions) {
    this.options = { queueName: 'analysis', concurrency: 2, retainFinished: 10_000, pollMs: 25, ...options };
    // BullMQ requires maxRetriesPerRequest: null on connections its workers block on.
    this.redis = createRedisClient(options.redisUrl, { maxRetriesPerRequest: null });
    // BullMQ's scripts touch several keys of a queue at once: on a cluster they must share a slot.
    this.prefix = slotTagged(options.prefix, this.redis);
    this.subscriber = this.redis.duplicate();
    this.queue = new Queue<JobData>(this.options.queueName, { connection: this.redis, prefix: this.prefix });
    // Redis being away is reported by /api/health/detailed; the connections keep retrying quietly.
    for (const emitter of [this.redis, this.subscriber, this.queue] as { on(event: 'error', listener: () => void): unknown }[]) emitter.on('error', () => {});
    // Unbounded queue: jobs the workers took wait here for a slot (BullMQ's own concurrency bounds them).
    this.slots = bulkhead(this.options.concurrency, Infinity);
    const base = `${this.prefix}:${this.options.queueName}`;
    this.keys = { stats: `${base}:tachyon-stats`, cancelled: (id) => `${base}:tachyon-cancelled:${id}`, channel: `${base}:tachyon-cancel` };
  }

  register<P, R>(registration: HandlerRegistration<P, R>): void {
    const reg = registration as HandlerRegistration;
    const rule = reg.batch ?? { maxBatch: 1, maxWaitMs: 0 };
    const batcher = new Batcher(reg.handler, rule, this.slots, (ms, count) => {
      for (let i = 0; i < count; i++) this.metrics.executed(reg.type, ms);
    });
    this.registrations.set(reg.type, { registration: reg, batcher });
    const prefetch = this.options.concurrency * Math.max(...[...this.registrations.values()].map((r) => r.registration.batch?.maxBatch ?? 1));
    if (this.worker) {
      this.worker.concurrency = prefetch;
      return;
    }
    this.worker = new Worker<JobData>(this.options.queueName, (job, _token, signal) => this.process(job, signal), {
      connection: this.redis,
      prefix: this.prefix,
      concurrency: prefetch,
    });
    // Failures are reported through task records; the event only needs a listener to stay quiet.
    this.worker.on('error', () => {});
    this.subscribed = this.subscriber.subscribe(this.keys.channel);
    // A queue closed before it connected rejects this; ready() still sees the rejection, nothing else must.
    this.subscribed.catch(() => undefined);
    this.subscriber.on('message', (_channel, id: string) => this.worker?.cancelJob(id, 'cancelled'));
  }

  /** Resolves once this instance's worker (if any) is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.queue.waitUntilReady();
    await this.worker?.waitUntilReady();
    await this.subscribed;
  }

  async enqueue<P>(request: EnqueueRequest<P>): Promise<string> {
    const priority = request.priority ?? 'normal';
    const level = PRIORITIES.indexOf(priority);
    if (level < 0) throw new BadRequestError(`priority must be one of ${PRIORITIES.join(', ')}`, { field: 'priority' });
    const reg = this.registrations.get(request.type)?.registration;
    const id = randomUUID();
    const keep = { count: this.options.retainFinished, age: CANCEL_TTL_S };
    await this.queue.add(
      request.type,
      { payload: request.payload, timeoutMs: request.timeoutMs ?? reg?.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS },
      {
        jobId: id,
        priority: level + 1,
        attempts: request.maxAttempts ?? reg?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        backoff: { type: 'exponential', delay: reg?.backoffMs ?? DEFAULT_BACKOFF_MS },
        removeOnComplete: keep,
        removeOnFail: keep,
      },
    );
    return id;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    // State first: a job finishing between the two reads then still shows its result.
    const state = await this.queue.getJobState(id);
    const [job, marker] = await Promise.all([this.queue.getJob(id) as Promise<Job<JobData> | undefined>, this.redis.get(this.keys.cancelled(id))]);
    if (!job || state === 'unknown') return marker ? (JSON.parse(marker) as TaskRecord) : undefined;
    let status: TaskStatus;
    if (state === 'completed') status = 'completed';
    else if (state === 'failed') status = marker ? 'cancelled' : 'failed';
    else if (state === 'active') status = marker ? 'cancelled' : 'running';
    else status = marker ? 'cancelled' : 'queued';
    const record: TaskRecord = {
      id,
      type: job.name,
      priority: PRIORITIES[(job.opts.priority ?? 3) - 1] ?? 'normal',
      status,
      attempts: job.attemptsStarted,
      maxAttempts: job.opts.attempts ?? 1,
      createdAt: job.timestamp,
    };
    if (job.processedOn) record.startedAt = job.processedOn;
    if (job.finishedOn) record.finishedAt = job.finishedOn;
    if (status === 'completed') record.result = job.returnvalue;
    if (job.failedReason) record.error = job.failedReason;
    return record;
  }

  async cancel(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record || isFinal(record.status)) return false;
    const cancelled: TaskRecord = { ...record, status: 'cancelled', finishedAt: Date.now() };
    await this.redis.set(this.keys.cancelled(id), JSON.stringify(cancelled), 'EX', CANCEL_TTL_S);
    if (record.status === 'queued') {
      try {
        await this.queue.remove(id);
        await this.redis.hincrby(this.keys.stats, `cancelled:${record.type}`, 1);
        return true;
      } catch {
        // Taken by a worker meanwhile (locked): abort it where it runs, below.
      }
    }
    await this.redis.publish(this.keys.channel, id);
    // Pub/sub reaches the running instance a moment later (longer on a Redis Cluster): answer once the
    // run has left `active`, so a cancelled task is one whose handler was told to stop.
    const deadline = Date.now() + CANCEL_CONFIRM_MS;
    while (Date.now() < deadline && (await this.queue.getJobState(id)) === 'active') await delay(this.options.pollMs);
    return true;
  }

  async waitFor(id: string, timeoutMs = 600_000): Promise<TaskRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.get(id);
      if (record && isFinal(record.status)) return record;
      if (Date.now() > deadline) throw new Error(`task ${id} not finished within ${timeoutMs} ms`);
      await delay(this.options.pollMs);
    }
  }

  async stats(): Promise<QueueStats> {
    const [counts, totals] = await Promise.all([
      this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
      this.redis.hgetall(this.keys.stats),
    ]);
    const byType = this.metrics.snapshot((type) => {
      const held = this.registrations.get(type)?.batcher.held ?? 0;
      return { queued: 0, running: held };
    }, this.registrations.keys());
    let completed = 0;
    let failed = 0;
    for (const [field, value] of Object.entries(totals)) {
      const [outcome, type] = field.split(':', 2) as ['completed' | 'failed' | 'cancelled' | 'retried', string];
      const stats = (byType[type] ??= this.metrics.snapshot(() => ({ queued: 0, running: 0 }), [type])[type]!);
      stats[outcome] = Number(value);
      if (outcome === 'completed') completed += Number(value);
      if (outcome === 'failed') failed += Number(value);
    }
    return {
      depth: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
      running: counts.active ?? 0,
      completionRate: completed + failed > 0 ? completed / (completed + failed) : null,
      byType,
    };
  }

  /**
   * Stops taking jobs (running ones finish), then closes the connections this queue opened; bounded:
   * past the timeout (or with Redis away) the connections are dropped, and a job still running here
   * goes back to the queue as stalled. A cluster client reads as ready while a primary is gone, and
   * BullMQ's graceful close then waited on that node forever (a platform's stop hung).
   */
  async close(): Promise<void> {
    if (this.redis.status === 'ready' && (await CLOSE_TIMEOUT.execute(() => this.closeGracefully()).then(() => true, () => false))) return;
    // Never left rejected and unobserved (past the timeout nobody awaits it): an unhandled rejection ends the process.
    const closing = Promise.all([this.worker?.close(true), this.queue.close()]).catch(() => {});
    this.subscriber.disconnect();
    this.redis.disconnect();
    await DROP_TIMEOUT.execute(async () => {
      await Promise.all([this.worker?.disconnect(), this.queue.disconnect()]);
      await closing;
    }).catch(() => {});
  }

  private async closeGracefully(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    await Promise.all([closeRedisClient(this.subscriber), closeRedisClient(this.redis)]);
  }

  private async process(job: Job<JobData>, signal: AbortSignal | undefined): Promise<unknown> {
    const entry = this.registrations.get(job.name);
    if (!entry) throw new UnrecoverableError(`no handler registered for task type ${job.name}`);
    const type = job.name;
    const attempt = job.attemptsStarted;
    const maxAttempts = job.opts.attempts ?? 1;
    // Wait is measured from creation, so a retried task's wait includes its earlier attempts and backoff.
    this.metrics.started(type, (job.processedOn ?? Date.now()) - job.timestamp);
    if (await this.redis.exists(this.keys.cancelled(job.id!))) {
      await this.redis.hincrby(this.keys.stats, `cancelled:${type}`, 1);
      throw new UnrecoverableError('cancelled');
    }
    const deadline = AbortSignal.timeout(job.data.timeoutMs);
    const taskSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const result = await raceAbort(
        entry.batcher.submit({ id: job.id!, payload: job.data.payload, attempt, signal: taskSignal }, job.opts.priority === 1),
        taskSignal,
      );
      await this.redis.hincrby(this.keys.stats, `completed:${type}`, 1);
      return result;
    } catch (error) {
      const cancelled = signal?.aborted === true;
      const permanent = isClientError(error);
      const outcome = cancelled ? 'cancelled' : attempt >= maxAttempts || permanent ? 'failed' : 'retried';
      await this.redis.hincrby(this.keys.stats, `${outcome}:${type}`, 1);
      if (cancelled) throw new UnrecoverableError('cancelled');
      if (permanent) throw new UnrecoverableError((error as Error).message);
      if (deadline.aborted) throw new Error(`task exceeded its ${job.data.timeoutMs} ms deadline`);
      throw error;
    }
  }
}

/** Settles with the work, or rejects as soon as the signal aborts (a handler may ignore its signal). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
