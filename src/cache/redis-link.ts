/**
 * Everything the cache sends to Redis goes through one link: a command timeout (ioredis) so a
 * slow Redis costs at most a few milliseconds, and one circuit breaker (cockatiel) so a dead one
 * costs nothing until it answers again. Concurrent commands are pipelined automatically. Commands fail fast instead of queueing while Redis is
 * away; callers (BentoCache, the lock, the bus) treat a failure as a miss and carry on.
 */
import { Cluster, type ChainableCommander, type Redis } from 'ioredis';
import { circuitBreaker, ConsecutiveBreaker, CircuitState, handleAll, type CircuitBreakerPolicy } from 'cockatiel';
import { failFastRedisClient, type RedisClient } from '../kernel/redis-client.ts';
import { Failure, TickBatch } from './tick-batch.ts';

export interface RedisLinkOptions {
  url: string;
  timeoutMs: number;
  /** How long the circuit stays open before one probe is let through. */
  breakMs: number;
}

type Write = { key: string; value: Buffer; ttlMs: number } | { channel: string; message: Buffer };

/** Keys per MGET or pipeline: bounds one command's reply (and the time Redis spends on it). */
const BATCH_MAX = 500;

/**
 * SET … PX for each key: KEYS are the keys, ARGV value and TTL (ms) pairs. A turn's SETs as one
 * command, as its GETs are one MGET: 100 pipelined SETs cost ioredis 100 commands, each with its
 * promise, argument array and reply (about half the CPU of a cache write in the profile of
 * bench:cache's set path); Redis runs them in one call (a few microseconds per key).
 */
const SET_MANY = "for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i]) end return #KEYS";

type SetManyPipeline = ChainableCommander & { tachyonSetMany(keyCount: number, keys: string[], args: (Buffer | number)[]): SetManyPipeline };

export class RedisLink {
  readonly redis: RedisClient;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly reads = new TickBatch<string, Buffer | null>(BATCH_MAX, (keys) =>
    this.run((r) => (r instanceof Cluster ? Promise.all(keys.map((k) => r.getBuffer(k))) : r.mgetBuffer(keys))),
  );
  private readonly writes = new TickBatch<Write, unknown>(BATCH_MAX, (items) =>
    this.run((r) =>
      r instanceof Cluster
        ? // A command's keys must share a slot on a cluster: one SET each, auto-pipelined per node.
          eachSettled(items.map((w) => ('channel' in w ? r.publish(w.channel, w.message) : r.set(w.key, w.value, 'PX', w.ttlMs))))
        : sendWrites(r, items),
    ),
  );

  constructor(readonly options: RedisLinkOptions) {
    // Failures surface through the breaker and the stats.
    this.redis = failFastRedisClient(options.url, options.timeoutMs);
    // EVALSHA, with the script sent once per connection (ioredis).
    if (!(this.redis instanceof Cluster)) this.redis.defineCommand('tachyonSetMany', { lua: SET_MANY });
    this.breaker = circuitBreaker(handleAll, { halfOpenAfter: options.breakMs, breaker: new ConsecutiveBreaker(3) });
  }

  async connect(): Promise<boolean> {
    try {
      await this.redis.connect();
      return true;
    } catch {
      return false;
    }
  }

  get healthy(): boolean {
    return this.breaker.state === CircuitState.Closed;
  }

  /**
   * GET of one key (binary), batched: the reads asked for in one turn of the event loop (the L2
   * misses of concurrent requests) leave as one MGET behind one breaker call. Issue 18 measured
   * one command per read at 0.08× pipelined ioredis. On a cluster the keys of one MGET (or one
   * pipeline) would have to live on one node: there the turn's reads are GETs issued together
   * (auto-pipelined per node), still behind one breaker call.
   */
  getBuffer(key: string): Promise<Buffer | null> {
    return this.reads.add(key);
  }

  /** SET with a TTL, batched the same way: one pipeline (one breaker call) per turn of the event loop. */
  setBuffer(key: string, value: Buffer, ttlMs: number): Promise<unknown> {
    return this.writes.add({ key, value, ttlMs });
  }

  /**
   * The same SET without an answer of its own: every such write of a turn gets the turn's one
   * promise, resolved (never rejected) with the errors of those writes once all are answered.
   */
  setBufferInTurn(key: string, value: Buffer, ttlMs: number): Promise<unknown[]> {
    return this.writes.join({ key, value, ttlMs });
  }

  /**
   * PUBLISH in the same pipeline as the SETs of its turn. The cache bus's write notices follow their
   * SET's reply, so they ride with the next turn's SETs: one socket write per turn instead of one
   * more per notice (each write to a loopback socket cost about as much CPU as 100 pipelined SETs
   * in the profile of bench:cache's set path). On a cluster, a PUBLISH from any node reaches all.
   */
  publish(channel: string, message: Buffer): Promise<unknown> {
    return this.writes.add({ channel, message });
  }

  /** Runs one Redis call behind the breaker; rejects at once while it is open. */
  run<T>(fn: (redis: RedisClient) => Promise<T>): Promise<T> {
    return this.breaker.execute(() => fn(this.redis));
  }

  /** Called when Redis comes back after an outage (the circuit closes again). */
  onRecovered(listener: () => void): void {
    this.breaker.onReset(listener);
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * One pipeline for a turn's writes on a single node, in their order: each run of consecutive SETs
 * as one SET_MANY, each PUBLISH as itself. A failed command fails only the writes it carried (a
 * script stops at its first refused SET: those before it landed, and are reported failed with it).
 */
async function sendWrites(redis: Redis, items: Write[]): Promise<unknown[]> {
  const pipeline = redis.pipeline() as SetManyPipeline;
  /** Per pipeline command, the writes it answers: a SET run's length, or 0 for a PUBLISH. */
  const runs: number[] = [];
  let keys: string[] = [];
  let args: (Buffer | number)[] = [];
  const endRun = () => {
    if (keys.length === 0) return;
    pipeline.tachyonSetMany(keys.length, keys, args);
    runs.push(keys.length);
    keys = [];
    args = [];
  };
  for (const w of items) {
    if ('channel' in w) {
      endRun();
      pipeline.publish(w.channel, w.message);
      runs.push(0);
    } else {
      keys.push(w.key);
      args.push(w.value, w.ttlMs);
    }
  }
  endRun();
  const replies = (await pipeline.exec()) ?? [];
  const outputs: unknown[] = [];
  replies.forEach(([error, reply], i) => {
    const sets = runs[i]!;
    if (sets === 0) outputs.push(error ? new Failure(error) : reply);
    else for (let j = 0; j < sets; j++) outputs.push(error ? new Failure(error) : 'OK');
  });
  return outputs;
}

/**
 * Each command's own outcome (a failed SET fails only its caller), as a pipeline's exec gives them;
 * a turn in which every command failed rejects as a whole, so the breaker counts it.
 */
async function eachSettled(commands: Promise<unknown>[]): Promise<unknown[]> {
  const results = await Promise.allSettled(commands);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed && results.every((r) => r.status === 'rejected')) throw failed.reason;
  return results.map((r) => (r.status === 'fulfilled' ? r.value : new Failure(r.reason)));
}
