/**
 * The event stream on Redis Streams (scaled mode).
 *
 * Layout, per partition p of `partitions` (a channel's partition is a hash of its name; the `{p}`
 * hash tag keeps one partition's keys in one Redis Cluster slot, so one script touches them all):
 *   `<prefix>{p}:log`        the partition's stream: every entry with its channel, offset and epoch, read by every instance (XREAD)
 *   `<prefix>{p}:meta`       hash: the epoch, and `o:<channel>` the channel's last offset
 *   `<prefix>{p}:h:<channel>` the channel's history for recovery (exactly `historySize`, `retentionMs`)
 *   `<prefix>{p}:seen:<origin>` the last publisher sequence applied, so a retried batch is not appended twice
 * One Lua script per batch assigns offsets and appends atomically, so a channel's offsets are in
 * the log's order. Entries are delivered from the log on every instance, the appending one too: a
 * channel's events then reach `onEntry` in offset order wherever they were published.
 *
 * Publishing never blocks: appends wait in a bounded per-partition buffer and leave in batches;
 * while Redis is away they stay there (in order) and are written when it is back. Beyond
 * `bufferLimit` new appends are dropped, counted and logged. The consumer reads from its last
 * entry id per partition and checkpoints it in Redis under its name, so after an outage or a
 * restart (same `consumer` name) it continues where it stopped, within the retention.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { closeRedisClient, createRedisClient, type RedisClient } from '../kernel/redis-client.ts';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import { recoverFrom, type EventStream, type Recovery, type StreamEntry, type StreamPosition, type StreamRetention, type StreamStats } from './event-stream.ts';

const packr = new Packr({ useRecords: false });

export interface RedisStreamOptions extends StreamRetention {
  url: string;
  /** Key prefix; instances sharing it share the stream. */
  prefix: string;
  partitions: number;
  /** Entries kept in each partition's log (approximate trim). */
  logMaxLen: number;
  /** Appends waiting for Redis, across partitions; beyond, new ones are dropped. */
  bufferLimit: number;
  /** This instance: its entries are marked with it. */
  origin: string;
  /** Checkpoint name: a restarted instance with the same name resumes from its last entry. Absent: start from the end. */
  consumer: string | undefined;
  logger: Logger;
  /** Entries per XREAD and per append script. */
  batchSize?: number;
}

// KEYS: log, meta, seen, then one history key per entry. ARGV: logMaxLen, historySize, retentionMs,
// epoch candidate, first publisher sequence, origin, then channel/topic/payload per entry.
const APPEND_SCRIPT = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then epoch = ARGV[4]; redis.call('HSET', KEYS[2], 'epoch', epoch) end
local ttl = tonumber(ARGV[3])
local first = tonumber(ARGV[5])
local seen = tonumber(redis.call('GET', KEYS[3]) or '0')
local t = redis.call('TIME')
local minId = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl)
local out = {epoch}
local n = #KEYS - 3
for i = 1, n do
  if first + i - 1 > seen then
    local a = 6 + (i - 1) * 3
    local ch = ARGV[a + 1]
    local off = redis.call('HINCRBY', KEYS[2], 'o:' .. ch, 1)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'c', ch, 'o', off, 'e', epoch, 't', ARGV[a + 2], 'g', ARGV[6], 'd', ARGV[a + 3])
    local h = KEYS[3 + i]
    redis.call('XADD', h, 'MAXLEN', ARGV[2], '*', 'o', off, 't', ARGV[a + 2], 'g', ARGV[6], 'd', ARGV[a + 3])
    redis.call('XTRIM', h, 'MINID', minId)
    redis.call('PEXPIRE', h, ttl)
    out[#out + 1] = off
  end
end
redis.call('SET', KEYS[3], first + n - 1, 'PX', ttl * 2)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return out
`;

interface Pending {
  channel: string;
  topic: string;
  payload: Buffer;
  seq: number;
}

interface Partition {
  readonly index: number;
  readonly log: string;
  readonly meta: string;
  readonly seen: string;
  queue: Pending[];
  /** Publisher sequence of this instance in this partition (dedupe of retried batches). */
  nextSeq: number;
  inFlight: boolean;
  /** Last entry id read from the log. */
  lastId: string | undefined;
}

type AppendingRedis = RedisClient & { tachyonStreamAppend(numKeys: number, ...args: (string | number | Buffer)[]): Promise<(string | number)[]> };
type RawEntry = [id: Buffer, fields: Buffer[]];

/** FNV-1a: a channel's partition, stable across processes. */
export function partitionOf(channel: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) {
    hash ^= channel.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

export class RedisEventStream implements EventStream {
  readonly kind = 'redis' as const;
  private readonly pub: AppendingRedis;
  private readonly sub: RedisClient;
  private readonly partitions: Partition[];
  /** Blocking XREADs: one for every partition on a single node; one per partition on a cluster (its connection's own), where one command's keys must share a slot. */
  private readonly readers: { connection: RedisClient; partitions: Partition[] }[];
  private readonly handlers = new Set<(entry: StreamEntry) => void>();
  private readonly batchSize: number;
  private buffered = 0;
  private appended = 0;
  private dropped = 0;
  private droppedLogged = 0;
  private dropLogTimer: NodeJS.Timeout | undefined;
  private consumed = 0;
  private lagMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointDirty = false;
  private flushScheduled = false;
  private closing = false;
  private up: boolean | undefined;
  /** Set when start() returned: a position found later starts from this time, not from the log's end. */
  private startedAt: number | undefined;

  constructor(private readonly options: RedisStreamOptions) {
    const retryStrategy = (attempt: number) => Math.min(attempt * 200, 2_000);
    // Appends fail fast while Redis is away (they stay buffered here); the reader's XREAD waits for it.
    // Both connect at once and keep retrying (a lazy connect that fails is not retried).
    this.pub = createRedisClient(options.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy }) as AppendingRedis;
    this.pub.defineCommand('tachyonStreamAppend', { lua: APPEND_SCRIPT });
    this.sub = createRedisClient(options.url, { maxRetriesPerRequest: null, retryStrategy });
    this.pub.on('ready', () => {
      this.setConnected(true);
      this.flush();
    });
    this.pub.on('close', () => this.setConnected(false));
    this.batchSize = options.batchSize ?? 500;
    this.partitions = Array.from({ length: options.partitions }, (_, index) => {
      const base = `${options.prefix}{${index}}`;
      return { index, log: `${base}:log`, meta: `${base}:meta`, seen: `${base}:seen:${options.origin}`, queue: [], nextSeq: 1, inFlight: false, lastId: undefined };
    });
    const sub = this.sub;
    this.readers = sub instanceof Cluster ? this.partitions.map((p) => ({ connection: sub.duplicate(), partitions: [p] })) : [{ connection: sub, partitions: this.partitions }];
    for (const connection of [this.pub, this.sub, ...this.readers.map((r) => r.connection)]) (connection as Cluster).on('error', () => {});
  }

  append(channel: string, topic: string, data: unknown): void {
    if (this.buffered >= this.options.bufferLimit) {
      this.dropped++;
      this.dropLogTimer ??= setTimeout(() => this.logDrops(), 5_000).unref();
      return;
    }
    const partition = this.partitions[partitionOf(channel, this.partitions.length)]!;
    partition.queue.push({ channel, topic, payload: packr.pack(data), seq: partition.nextSeq++ });
    this.buffered++;
    this.appended++;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  onEntry(handler: (entry: StreamEntry) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async position(channel: string): Promise<StreamPosition> {
    const partition = this.partitions[partitionOf(channel, this.partitions.length)]!;
    const [, , [error, values] = []] = (await this.pub.pipeline().hsetnx(partition.meta, 'epoch', newEpoch()).pexpire(partition.meta, this.options.retentionMs * 2).hmget(partition.meta, 'epoch', `o:${channel}`).exec()) ?? [];
    if (error) throw error;
    const [epoch, offset] = values as (string | null)[];
    return { epoch: epoch!, offset: Number(offset ?? 0) };
  }

  async since(channel: string, from: StreamPosition): Promise<Recovery> {
    const partition = this.partitions[partitionOf(channel, this.partitions.length)]!;
    let results: [Error | null, unknown][] | null;
    try {
      // One transaction: the top offset and the history agree.
      results = await this.pub.multi().hmget(partition.meta, 'epoch', `o:${channel}`).xrangeBuffer(this.historyKey(partition, channel), '-', '+').exec();
    } catch {
      return { recovered: false, reason: 'unavailable', position: undefined };
    }
    const [[metaError, meta] = [null, null], [rangeError, range] = [null, null]] = results ?? [];
    if (metaError || rangeError || !meta) return { recovered: false, reason: 'unavailable', position: undefined };
    const [epoch, offset] = meta as (string | null)[];
    // No epoch: the partition's state expired or was lost; a new epoch starts with the next append.
    if (!epoch) return { recovered: false, reason: 'epoch_changed', position: await this.position(channel).catch(() => undefined) };
    const entries = (range as RawEntry[]).map(([, fields]) => this.entryOf(fields, channel, epoch));
    return recoverFrom(entries, { epoch, offset: Number(offset ?? 0) }, from);
  }

  /** Resolves once connected, or after `connectTimeoutMs` with Redis unreachable (events then wait in the buffer). */
  async start(connectTimeoutMs = 2_000): Promise<void> {
    const ready = (connection: RedisClient) => (connection.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => connection.once('ready', () => resolve())));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, connectTimeoutMs).unref());
    await Promise.race([Promise.all([ready(this.pub), ready(this.sub)]), timeout]);
    if (this.pub.status !== 'ready') this.setConnected(false);
    // Positions first, so nothing appended after start() returns is skipped. Without Redis, the loop
    // sets them once it answers, from this moment's entry id (entry ids are times), not the end then.
    if (this.sub.status === 'ready') await this.initPositions().catch(() => {});
    this.startedAt = Date.now();
    for (const reader of this.readers) void this.readLoop(reader);
    this.checkpointTimer = setInterval(() => void this.checkpoint(), 1_000).unref();
  }

  async close(): Promise<void> {
    this.flush();
    // Appends in flight get a moment to land; what is still buffered after it is lost with the process.
    for (let i = 0; i < 50 && this.partitions.some((p) => p.inFlight) && this.pub.status === 'ready'; i++) await new Promise((r) => setTimeout(r, 10));
    this.closing = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.checkpointTimer);
    clearTimeout(this.dropLogTimer);
    await this.checkpoint();
    if (this.buffered > 0) this.options.logger.error({ buffered: this.buffered }, 'event stream closed with events not yet written to Redis: they are lost');
    // Not awaited: an XREAD queued on a connection that is between reconnects is never answered nor rejected.
    for (const connection of new Set([this.sub, ...this.readers.map((r) => r.connection)])) connection.disconnect();
    await closeRedisClient(this.pub);
    this.handlers.clear();
  }

  stats(): StreamStats {
    return {
      kind: 'redis',
      connected: this.up === true,
      appended: this.appended,
      buffered: this.buffered,
      bufferLimit: this.options.bufferLimit,
      dropped: this.dropped,
      consumed: this.consumed,
      lagMs: this.lagMs,
    };
  }

  private historyKey(partition: Partition, channel: string): string {
    return `${this.options.prefix}{${partition.index}}:h:${channel}`;
  }

  private setConnected(up: boolean): void {
    if (this.closing || this.up === up) return;
    const before = this.up;
    this.up = up;
    if (!up) this.options.logger.error({ buffered: this.buffered }, 'EVENT STREAM UNREACHABLE: account events wait in the buffer (bounded) until Redis is back');
    else if (before === false) this.options.logger.warn({ buffered: this.buffered }, 'event stream reconnected: buffered account events are being written');
  }

  private logDrops(): void {
    this.dropLogTimer = undefined;
    const dropped = this.dropped - this.droppedLogged;
    this.droppedLogged = this.dropped;
    if (dropped > 0) this.options.logger.error({ dropped, total: this.dropped, bufferLimit: this.options.bufferLimit }, 'EVENT STREAM BUFFER FULL: account events were dropped (never delivered to other instances or WebSocket clients)');
  }

  /** Writes each partition's waiting appends, one batch in flight per partition (so they land in order). */
  private flush(): void {
    this.flushScheduled = false;
    if (this.pub.status !== 'ready') return;
    for (const partition of this.partitions) {
      if (partition.inFlight || partition.queue.length === 0) continue;
      const batch = partition.queue.slice(0, this.batchSize);
      partition.inFlight = true;
      const keys = [partition.log, partition.meta, partition.seen, ...batch.map((p) => this.historyKey(partition, p.channel))];
      const args: (string | number | Buffer)[] = [this.options.logMaxLen, this.options.historySize, this.options.retentionMs, newEpoch(), batch[0]!.seq, this.options.origin];
      for (const p of batch) args.push(p.channel, p.topic, p.payload);
      this.pub.tachyonStreamAppend(keys.length, ...keys, ...args).then(
        () => {
          partition.inFlight = false;
          partition.queue.splice(0, batch.length);
          this.buffered -= batch.length;
          if (partition.queue.length > 0) this.flush();
        },
        () => {
          // Kept in place: retried when the connection is ready again (or shortly, if it never dropped).
          partition.inFlight = false;
          this.retryTimer ??= setTimeout(() => {
            this.retryTimer = undefined;
            this.flush();
          }, 250).unref();
        },
      );
    }
  }

  private async readLoop({ connection, partitions }: { connection: RedisClient; partitions: Partition[] }): Promise<void> {
    while (!this.closing) {
      try {
        if (partitions.some((p) => p.lastId === undefined)) await this.initPositions();
        const keys = partitions.map((p) => p.log);
        const ids = partitions.map((p) => p.lastId!);
        const result = (await connection.xreadBuffer('COUNT', this.batchSize, 'BLOCK', 2_000, 'STREAMS', ...keys, ...ids)) as [Buffer, RawEntry[]][] | null;
        if (!result) continue;
        const now = Date.now();
        for (const [key, entries] of result) {
          const partition = partitions.find((p) => p.log === key.toString())!;
          for (const [id, fields] of entries) {
            partition.lastId = id.toString();
            this.consumed++;
            this.lagMs = Math.max(0, now - Number(partition.lastId.split('-')[0]));
            this.deliver(this.entryOf(fields, undefined, undefined));
          }
          this.checkpointDirty = true;
        }
      } catch {
        if (this.closing) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Where to read from: the checkpoint under this consumer's name, else each log's current end (or, when Redis was away at start, the start time). */
  private async initPositions(): Promise<void> {
    const saved = this.options.consumer ? await this.sub.hgetall(this.checkpointKey()) : {};
    for (const partition of this.partitions) {
      if (partition.lastId !== undefined) continue;
      const checkpoint = saved[String(partition.index)];
      if (checkpoint) partition.lastId = checkpoint;
      else if (this.startedAt !== undefined) partition.lastId = `${this.startedAt}-0`;
      else {
        const [last] = (await this.sub.xrevrange(partition.log, '+', '-', 'COUNT', 1)) as [string, string[]][];
        partition.lastId = last?.[0] ?? '0-0';
      }
    }
  }

  private checkpointKey(): string {
    return `${this.options.prefix}consumer:${this.options.consumer}`;
  }

  private async checkpoint(): Promise<void> {
    if (!this.options.consumer || !this.checkpointDirty || this.pub.status !== 'ready') return;
    this.checkpointDirty = false;
    const positions: Record<string, string> = {};
    for (const partition of this.partitions) if (partition.lastId) positions[String(partition.index)] = partition.lastId;
    await this.pub
      .multi()
      .hset(this.checkpointKey(), positions)
      .pexpire(this.checkpointKey(), this.options.retentionMs * 2)
      .exec()
      .catch(() => void (this.checkpointDirty = true));
  }

  private deliver(entry: StreamEntry): void {
    for (const handler of this.handlers) {
      try {
        handler(entry);
      } catch (error) {
        this.options.logger.error({ err: error, channel: entry.channel }, 'event stream handler failed');
      }
    }
  }

  /** Decodes an entry's fields (log entries name their channel; history entries belong to the one read). */
  private entryOf(fields: Buffer[], channel: string | undefined, epoch: string | undefined): StreamEntry {
    const entry: Partial<StreamEntry> & { channel?: string } = { channel, epoch };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const value = fields[i + 1]!;
      switch (fields[i]!.toString()) {
        case 'c':
          entry.channel = value.toString();
          break;
        case 'o':
          entry.offset = Number(value.toString());
          break;
        case 'e':
          entry.epoch = value.toString();
          break;
        case 't':
          entry.topic = value.toString();
          break;
        case 'g':
          entry.origin = value.toString();
          break;
        case 'd':
          entry.data = packr.unpack(value);
          break;
      }
    }
    return entry as StreamEntry;
  }
}

function newEpoch(): string {
  return randomBytes(4).toString('hex');
}
