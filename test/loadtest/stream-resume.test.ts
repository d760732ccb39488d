/**
 * The load tester's trading session resumes a lost one from its offsets: the replacement subscribes
 * with `recover`, checks the recovered events like live ones (a gap across the reconnection counts in
 * ws_seq_gaps), and counts resumed and unrecoverable channels. A scripted session stands in for the
 * socket; the gateway's side of recovery is test/realtime/recovery.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { TradingStream } from '../../src/loadtest/trading/stream.ts';
import type { IterationContext } from '../../src/loadtest/scenario.ts';
import type { WsSession } from '../../src/loadtest/ws-session.ts';

class ScriptedSession implements WsSession {
  readonly sent: Record<string, unknown>[] = [];
  private readonly handlers = new Set<(message: unknown) => void>();
  received = 0;
  readonly closed = new Promise<void>(() => {});
  send(data: string | Buffer | object): void {
    this.sent.push((typeof data === 'string' ? JSON.parse(data) : data) as Record<string, unknown>);
  }
  onMessage(handler: (message: unknown) => void): void {
    this.handlers.add(handler);
  }
  waitFor<T>(predicate: (message: unknown) => boolean): Promise<T> {
    return new Promise((resolve) => {
      const handler = (message: unknown) => {
        if (!predicate(message)) return;
        this.handlers.delete(handler);
        resolve(message as T);
      };
      this.handlers.add(handler);
    });
  }
  push(frame: unknown): void {
    for (const handler of [...this.handlers]) handler(frame);
  }
  async close(): Promise<void> {}
}

function context() {
  const counts = new Map<string, number>();
  const sessions: ScriptedSession[] = [];
  const ctx = {
    ws: {
      connect: async () => {
        const session = new ScriptedSession();
        sessions.push(session);
        return session;
      },
    },
    metrics: {
      counter: (name: string) => ({ add: (value: number) => counts.set(name, (counts.get(name) ?? 0) + value) }),
      trend: () => ({ add: () => {} }),
    },
  } as unknown as IterationContext;
  return { ctx, counts, sessions };
}

const order = (offset: number) => ({ channel: 'orders:1', seq: offset, offset, epoch: 'e1', event: 'order', data: { type: 'accepted', order: { id: offset } } });

/** Opens a session and answers its subscribe with `subscription`. */
async function open(ctx: IterationContext, sessions: ScriptedSession[], subscription: object, previous?: TradingStream) {
  const opening = TradingStream.open(ctx, 'token', ['orders:1'], () => {}, previous);
  await new Promise((resolve) => setImmediate(resolve));
  const session = sessions.at(-1)!;
  session.push({ type: 'subscribed', subscriptions: [{ channel: 'orders:1', ...subscription }] });
  return { stream: await opening, session };
}

describe('trading session resume', () => {
  it('resubscribes with the last offset; recovered events continue the sequence (no gap), a hole in them is one', async () => {
    const { ctx, counts, sessions } = context();
    const first = await open(ctx, sessions, { seq: 3, offset: 3, epoch: 'e1', snapshot: null });
    expect(first.session.sent[0]).toEqual({ type: 'subscribe', id: 1, channels: ['orders:1'] });
    first.session.push({ type: 'batch', messages: [order(4), order(5)] });

    const second = await open(ctx, sessions, { seq: 7, offset: 7, epoch: 'e1', recovered: true, publications: [order(6), order(7)] }, first.stream);
    expect(second.session.sent[0]).toEqual({ type: 'subscribe', id: 1, channels: ['orders:1'], recover: { 'orders:1': { offset: 5, epoch: 'e1' } } });
    second.session.push({ type: 'batch', messages: [order(8)] });
    expect(counts.get('ws_seq_gaps')).toBe(0);
    expect(counts.get('ws_recovered')).toBe(1);

    // A server that skipped an event while recovering: the replacement sees the hole.
    const third = await open(ctx, sessions, { seq: 10, offset: 10, epoch: 'e1', recovered: true, publications: [order(10)] }, second.stream);
    expect(third.session.sent[0]).toMatchObject({ recover: { 'orders:1': { offset: 8, epoch: 'e1' } } });
    expect(counts.get('ws_seq_gaps')).toBe(1);
  });

  it('an unrecoverable channel restarts from its snapshot and is counted, not taken for a gap', async () => {
    const { ctx, counts, sessions } = context();
    const first = await open(ctx, sessions, { seq: 2, offset: 2, epoch: 'e1', snapshot: null });
    first.session.push({ type: 'batch', messages: [order(3)] });
    const second = await open(ctx, sessions, { seq: 40, offset: 40, epoch: 'e2', recovered: false, recoveryError: 'epoch_changed', snapshot: null }, first.stream);
    second.session.push({ type: 'batch', messages: [{ ...order(41), epoch: 'e2' }] });
    expect(counts.get('ws_recovery_failed')).toBe(1);
    expect(counts.get('ws_seq_gaps')).toBe(0);
  });
});
