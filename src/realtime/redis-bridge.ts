/**
 * Bus bridge over Redis pub/sub (scaled mode): bridged topics published on one instance are
 * delivered on every other, so any instance can serve any client (no sticky sessions).
 * Messages published in the same event-loop turn travel as ONE Redis message (a MessagePack array),
 * so a feed step of hundreds of ticks costs one PUBLISH, not hundreds; nothing waits on a timer.
 * Each batch names its origin, and an instance ignores its own (it delivered them locally already).
 */
import { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import type { BusBridge, MessageBus } from '../kernel/bus.ts';

const packr = new Packr({ useRecords: false });

/**
 * Topics other instances need: market data (followers apply the feed leader's ticks), account
 * events (WebSocket clients anywhere), strategy changes (every instance's consumers hear them).
 */
export const BRIDGED_PREFIXES = ['quote.', 'bar.', 'order.', 'fill.', 'portfolio.', 'strategy.'] as const;

export function isBridged(topic: string): boolean {
  return BRIDGED_PREFIXES.some((prefix) => topic.startsWith(prefix));
}

type Batch = [origin: string, messages: [topic: string, message: unknown][]];

export class RedisBusBridge implements BusBridge {
  private pending: [string, unknown][] = [];
  private scheduled = false;
  forwarded = 0;
  received = 0;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly channel: string,
    private readonly origin: string,
    private readonly logger: Logger,
  ) {}

  /** Connects publisher and subscriber, attaches to the bus, and resolves once remote events flow in. */
  static async attach(bus: MessageBus, opts: { url: string; channel: string; origin: string; logger: Logger }): Promise<RedisBusBridge> {
    // A subscriber connection cannot publish: two connections.
    const pub = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    const sub = new Redis(opts.url, { lazyConnect: true });
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      const bridge = new RedisBusBridge(pub, sub, opts.channel, opts.origin, opts.logger);
      sub.on('messageBuffer', (_channel: Buffer, payload: Buffer) => bridge.onBatch(bus, payload));
      await sub.subscribe(opts.channel);
      bus.attachBridge(bridge, isBridged);
      return bridge;
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw error;
    }
  }

  forward(topic: string, message: unknown): void {
    this.pending.push([topic, message]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
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
