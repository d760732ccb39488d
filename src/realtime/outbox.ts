/**
 * What one connection has yet to be sent. State channels (quotes, portfolio) are conflated: a newer
 * event replaces the pending one for its channel, so a connection never receives a backlog of stale
 * quotes and its memory is bounded by its subscription count. Event channels (orders and fills,
 * bars) keep every event, in order: they are never conflated and never dropped while the
 * connection lives (the connection is closed instead, and the client resubscribes for a snapshot).
 */
import type { Outgoing } from './codec.ts';

export class Outbox {
  private readonly latest = new Map<string, Outgoing>();
  private ordered: Outgoing[] = [];

  get size(): number {
    return this.latest.size + this.ordered.length;
  }

  get orderedSize(): number {
    return this.ordered.length;
  }

  /** Queues an event; returns true when it replaced (conflated) a pending one. */
  push(message: Outgoing, conflate: boolean): boolean {
    if (!conflate) {
      this.ordered.push(message);
      return false;
    }
    const channel = message.message.channel;
    const replaced = this.latest.has(channel);
    this.latest.set(channel, message);
    return replaced;
  }

  /** Removes and returns what to send now: ordered events, then (unless withheld) the latest states. */
  take(includeConflated: boolean): Outgoing[] {
    const out = this.ordered;
    this.ordered = [];
    if (includeConflated && this.latest.size > 0) {
      for (const message of this.latest.values()) out.push(message);
      this.latest.clear();
    }
    return out;
  }

  /** Drops a channel's pending state (on unsubscribe). Ordered events already queued still go out. */
  forget(channel: string): void {
    this.latest.delete(channel);
  }

  /** Drops a recoverable channel's queued events up to an offset (the subscribe answer already holds them). */
  dropThrough(channel: string, offset: number): void {
    this.ordered = this.ordered.filter((m) => m.message.channel !== channel || m.message.offset === undefined || m.message.offset > offset);
  }

  /** Empties the outbox (connection closed); returns how many events were discarded. */
  discard(): number {
    const n = this.size;
    this.latest.clear();
    this.ordered = [];
    return n;
  }
}
