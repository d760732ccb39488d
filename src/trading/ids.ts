/**
 * Id allocation for orders, executions and cash transactions: blocks of BLOCK_SIZE ids reserved
 * with one `nextval` of a shared sequence, so ids are unique across every instance on the database
 * and increasing within an instance (time-ordered there, block-interleaved across instances). The
 * next block is fetched when half of the current one is used, so `next()` stays synchronous on the
 * hot path; `ready()` only waits when a burst has drained both blocks.
 */
import type { Queryable } from '../db/database.ts';

export const BLOCK_SIZE = 100_000;

export class IdAllocator {
  private next_ = 0;
  private end = 0;
  private spare: { start: number; end: number } | undefined;
  private fetching: Promise<void> | undefined;

  constructor(private readonly db: Queryable) {}

  /** Resolves once at least `count` ids can be taken synchronously. */
  async ready(count = 1): Promise<void> {
    while (this.end - this.next_ < count) {
      if (this.spare) this.useSpare();
      else await this.fetch();
    }
  }

  available(): number {
    return this.end - this.next_ + (this.spare ? this.spare.end - this.spare.start : 0);
  }

  next(): number {
    if (this.next_ === this.end) {
      if (!this.spare) throw new RangeError('id block exhausted: await ready() first');
      this.useSpare();
    }
    const id = this.next_++;
    if (!this.spare && !this.fetching && this.end - this.next_ < BLOCK_SIZE / 2) void this.fetch().catch(() => {});
    return id;
  }

  private useSpare(): void {
    this.next_ = this.spare!.start;
    this.end = this.spare!.end;
    this.spare = undefined;
  }

  private fetch(): Promise<void> {
    this.fetching ??= this.db
      .query<{ block: number }>("SELECT nextval('trading_id_blocks') AS block")
      .then(({ rows }) => {
        const start = rows[0]!.block * BLOCK_SIZE;
        this.spare = { start, end: start + BLOCK_SIZE };
      })
      .finally(() => {
        this.fetching = undefined;
      });
    return this.fetching;
  }
}
