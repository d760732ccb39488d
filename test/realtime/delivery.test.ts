/** Delivery rules without sockets: conflation, ordered private events, slow-consumer handling, codecs. */
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec, Outgoing } from '../../src/realtime/codec.ts';
import { Connection, MAX_FRAMES_IN_FLIGHT, type Transport } from '../../src/realtime/connection.ts';
import { RealtimeMetrics } from '../../src/realtime/metrics.ts';
import type { BatchFrame } from '../../src/realtime/protocol.ts';

class FakeTransport implements Transport {
  bufferedAmount = 0;
  readonly frames: BatchFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  /** Frames not yet written: a test can hold them to play a compression backlog. */
  holdWrites = false;
  readonly unwritten: Array<() => void> = [];
  send(data: string | Buffer, written: () => void): void {
    this.frames.push((typeof data === 'string' ? JSON.parse(data) : unpack(data)) as BatchFrame);
    if (this.holdWrites) this.unwritten.push(written);
    else written();
  }
  ping(): void {}
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  terminate(): void {}
}

const LIMITS = { sendBufferSoftBytes: 1000, sendBufferHardBytes: 10_000, slowConsumerMs: 5_000 };
const quote = (symbol: string, seq: number, last: number) => new Outgoing({ channel: `quotes:${symbol}`, seq, data: { symbol, last, ts: 0 } }, 0);
const order = (seq: number) => new Outgoing({ channel: 'orders:1', seq, event: 'order', data: { id: seq } }, 0);

function setup(codec = jsonCodec) {
  const transport = new FakeTransport();
  const metrics = new RealtimeMetrics();
  const connection = new Connection('c1', transport, codec, metrics, () => {}, { maxMessagesPerSecond: 100, maxSnapshotsPerSecond: 10, sendBufferHardBytes: LIMITS.sendBufferHardBytes }, 0);
  return { transport, metrics, connection };
}

describe('per-connection delivery', () => {
  it('sends one batch per flush with the latest quote per symbol and every order event in order', () => {
    const { transport, metrics, connection } = setup();
    for (let i = 1; i <= 50; i++) connection.deliver(quote('AAA', i, 100 + i), true);
    connection.deliver(quote('BBB', 1, 7), true);
    for (let i = 1; i <= 20; i++) connection.deliver(order(i), false);
    expect(connection.flush(1, LIMITS)).toBe('sent');
    expect(transport.frames).toHaveLength(1);
    const messages = transport.frames[0]!.messages;
    expect(messages.filter((m) => m.channel === 'orders:1').map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(messages.filter((m) => m.channel === 'quotes:AAA')).toEqual([{ channel: 'quotes:AAA', seq: 50, data: { symbol: 'AAA', last: 150, ts: 0 } }]);
    expect(metrics.conflated).toBe(49);
    expect(metrics.messagesOut).toBe(22);
    expect(connection.flush(2, LIMITS)).toBe('idle');
  });

  it('under a slow reader keeps conflating quotes, still sends orders, then closes as a slow consumer', () => {
    const { transport, metrics, connection } = setup();
    transport.bufferedAmount = 5_000; // above soft, below hard
    for (let i = 1; i <= 1000; i++) connection.deliver(quote('AAA', i, i), true);
    connection.deliver(order(1), false);
    expect(connection.flush(0, LIMITS)).toBe('pending'); // the quote waits, conflated
    expect(transport.frames[0]!.messages.map((m) => m.channel)).toEqual(['orders:1']);
    for (let i = 1001; i <= 2000; i++) connection.deliver(quote('AAA', i, i), true);
    expect(metrics.conflated).toBe(1999); // memory stays one pending quote per symbol
    // The reader catches up: the latest quote goes out, never the backlog.
    transport.bufferedAmount = 0;
    expect(connection.flush(10, LIMITS)).toBe('sent');
    expect(transport.frames[1]!.messages).toEqual([expect.objectContaining({ channel: 'quotes:AAA', seq: 2000 })]);
    // Congested for longer than slowConsumerMs, or past the hard limit: the caller closes it.
    transport.bufferedAmount = 5_000;
    connection.deliver(quote('AAA', 2001, 1), true);
    expect(connection.flush(20, LIMITS)).toBe('pending');
    expect(connection.flush(20 + LIMITS.slowConsumerMs + 1, LIMITS)).toBe('slow');
    transport.bufferedAmount = LIMITS.sendBufferHardBytes + 1;
    expect(connection.flush(30, LIMITS)).toBe('slow');
    connection.close(4008, 'slow consumer');
    expect(transport.closed?.code).toBe(4008);
    expect(metrics.dropped).toBe(1);
  });

  it('counts frames not yet written (a deflate backlog) as congestion: quotes conflate until they drain', () => {
    const { transport, connection } = setup();
    transport.holdWrites = true;
    for (let frame = 1; frame <= MAX_FRAMES_IN_FLIGHT; frame++) {
      connection.deliver(quote('AAA', frame, frame), true);
      expect(connection.flush(frame, LIMITS)).toBe('sent');
    }
    for (let i = 100; i <= 200; i++) connection.deliver(quote('AAA', i, i), true);
    expect(connection.flush(10, LIMITS)).toBe('pending'); // bufferedAmount is 0, yet nothing more goes out
    expect(transport.frames).toHaveLength(MAX_FRAMES_IN_FLIGHT);
    for (const written of transport.unwritten.splice(0)) written();
    expect(connection.flush(11, LIMITS)).toBe('sent');
    expect(transport.frames.at(-1)!.messages).toEqual([expect.objectContaining({ channel: 'quotes:AAA', seq: 200 })]);
    // A backlog that never drains is a slow consumer like a full buffer.
    connection.deliver(quote('AAA', 201, 1), true);
    connection.deliver(quote('AAA', 202, 1), true);
    expect(connection.flush(12, LIMITS)).toBe('sent');
    connection.deliver(quote('AAA', 203, 1), true);
    expect(connection.flush(13, LIMITS)).toBe('pending');
    expect(connection.flush(13 + LIMITS.slowConsumerMs + 1, LIMITS)).toBe('slow');
  });

  it('holds everything while a snapshot is being read, so events follow their subscribed frame', () => {
    const { transport, connection } = setup();
    connection.pendingSnapshots = 1;
    connection.deliver(order(1), false);
    expect(connection.flush(0, LIMITS)).toBe('pending');
    expect(transport.frames).toHaveLength(0);
    connection.pendingSnapshots = 0;
    expect(connection.flush(1, LIMITS)).toBe('sent');
  });

  it('limits client messages with a token bucket and answers the first excess only', () => {
    const { connection } = setup();
    const answers = Array.from({ length: 103 }, () => connection.admit(0));
    expect(answers.filter((a) => a === 'ok')).toHaveLength(100);
    expect(answers.slice(100)).toEqual(['limited', 'silent', 'silent']);
    expect(connection.admit(1000)).toBe('ok'); // refilled after a second
  });

  it('counts reply frames against the hard send-buffer limit: over it, the connection closes with 1008 and nothing is written', () => {
    const { transport, metrics, connection } = setup();
    const error = { type: 'error', code: 'unknown_channel', message: 'no channel "x" for this user' } as const;
    transport.bufferedAmount = LIMITS.sendBufferHardBytes - 1000;
    connection.send(error);
    expect(transport.frames).toHaveLength(1); // still under the limit
    transport.bufferedAmount = LIMITS.sendBufferHardBytes - 10;
    connection.send(error);
    expect(transport.frames).toHaveLength(1);
    expect(transport.closed?.code).toBe(1008);
    expect(transport.closed?.reason).toMatch(/send buffer/);
    expect(metrics.slowConsumerCloses).toBe(1);
    connection.send(error); // closed: nothing more
    expect(transport.frames).toHaveLength(1);
  });

  it("allows a second's worth of snapshots, then refills", () => {
    const { connection } = setup();
    const admitted = Array.from({ length: 12 }, () => connection.admitSnapshot(0));
    expect(admitted.filter(Boolean)).toHaveLength(10);
    expect(connection.admitSnapshot(100)).toBe(true); // a tenth of a second: one more
    expect(connection.admitSnapshot(100)).toBe(false);
  });

  it('builds MessagePack batches by concatenation that decode like a packed object (all array header sizes)', () => {
    for (const n of [0, 1, 15, 16, 70_000]) {
      const messages = Array.from({ length: n }, (_, i) => quote(`S${i}`, i, i / 4));
      const frame = unpack(msgpackCodec.batch(messages) as Buffer) as BatchFrame;
      expect(frame.type).toBe('batch');
      expect(frame.messages).toHaveLength(n);
      if (n > 0) expect(frame.messages[n - 1]).toEqual(messages[n - 1]!.message);
      expect(JSON.parse(jsonCodec.batch(messages) as string)).toEqual(frame);
    }
  });
});
