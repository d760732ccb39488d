/**
 * Bus bridge over Redis pub/sub (scaled mode): bridged topics published on one instance are
 * delivered on every other, so any instance can serve any client (no sticky sessions).
 * Messages published in the same event-loop turn travel as ONE Redis message (a MessagePack array),
 * so a feed step of hundreds of ticks costs one PUBLISH, not hundreds; nothing waits on a timer.
 * Each batch names its origin, and an instance ignores its own (it delivered them locally already).
 * Redis being away is not fatal: the bridge attaches anyway, the instance runs on its in-process
 * bus alone (logged loudly, batches dropped), and the connections keep retrying; once Redis answers
 * again the subscriber resubscribes and events flow between instances again.
 */
import { timeout, TimeoutStrategy } from 'cockatiel';
import { closeRedisClient, createRedisClient, type RedisClient } from '../kernel/redis-client.ts';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import type { BusBridge, MessageBus } from '../kernel/bus.ts';
import { isBridged } from '../kernel/topics.ts';

const packr = new Packr({ useRecords: false });

type Batch = [origin: string, messages: [topic: string, message: unknown][]];

export class RedisBusBridge implements BusBridge {
  private pending: [string, unknown][] = [];
  private scheduled = false;
  forwarded = 0;
  received = 0;
  /** Events not bridged because Redis was away. */
  dropped = 0;
  private up: boolean | undefined;
  private closing = false;

  private constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly channel: string,
    private readonly origin: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Attaches to the bus and resolves once remote events flow in, or after `connectTimeoutMs` with
   * Redis unreachable (degraded: local delivery only, reconnecting in the background).
   */
  static async attach(bus: MessageBus, opts: { url: string; channel: string; origin: string; logger: Logger; connectTimeoutMs?: number }): Promise<RedisBusBridge> {
    const retryStrategy = (attempt: number) => Math.min(attempt * 200, 2_000);
    // A subscriber connection cannot publish: two connections. Publishing never queues while Redis is away.
    const pub = createRedisClient(opts.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy });
    // The subscription is queued while offline and renewed after every reconnect (ioredis autoResubscribe).
    const sub = createRedisClient(opts.url, { retryStrategy });
    const bridge = new RedisBusBridge(pub, sub, opts.channel, opts.origin, opts.logger);
    sub.on('messageBuffer', (_channel: Buffer, payload: Buffer) => bridge.onBatch(bus, payload));
    for (const connection of [pub, sub] as { on(event: 'error', listener: () => void): unknown }[]) connection.on('error', () => {});
    sub.on('ready', () => bridge.setConnected(true));
    sub.on('close', () => bridge.setConnected(false));
    const subscribed = sub.subscribe(opts.channel);
    // What to forward is the catalogue's `bridged` column (src/kernel/topics.ts).
    bus.attachBridge(bridge, isBridged);
    const connect = timeout(opts.connectTimeoutMs ?? 2_000, TimeoutStrategy.Aggressive).dangerouslyUnref();
    if (!(await connect.execute(() => subscribed).then(() => true, () => false))) bridge.setConnected(false);
    return bridge;
  }

  /** Whether events currently reach the other instances. */
  get connected(): boolean {
    return this.up === true && this.pub.status === 'ready';
  }

  private setConnected(up: boolean): void {
    if (this.closing || this.up === up) return;
    const before = this.up;
    this.up = up;
    if (!up) this.logger.error({ dropped: this.dropped }, 'REDIS UNREACHABLE: bus bridge down, this instance runs on its in-process bus only (no events from or to other instances); reconnecting');
    else if (before === false) this.logger.warn('redis is back: bus bridge reconnected, events flow between instances again');
  }

  forward(topic: string, message: unknown): void {
    this.pending.push([topic, message]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  async close(): Promise<void> {
    this.flush();
    this.closing = true;
    for (const connection of [this.sub, this.pub]) await closeRedisClient(connection);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    if (this.pub.status !== 'ready') {
      this.dropped += this.pending.length;
      this.pending = [];
      return;
    }
    const batch: Batch = [this.origin, this.pending];
    this.forwarded += this.pending.length;
    this.pending = [];
    // Pub/sub is fire-and-forget by nature; a lost batch is logged, and clients recover state by resubscribing.
    this.pub.publish(this.channel, packr.pack(batch)).catch((error: unknown) => this.logger.warn({ err: error }, 'bus bridge publish failed'));
  }

  private onBatch(bus: MessageBus, payload: Buffer): void {
    let batch: Batch;
    try {
      batch = packr.unpack(payload) as Batch;
    } catch (error) {
      this.logger.warn({ err: error }, 'bus bridge received an undecodable batch');
      return;
    }
    if (batch[0] === this.origin) return;
    this.received += batch[1].length;
    for (const [topic, message] of batch[1]) bus.deliver(topic, message);
  }
}
