/**
 * Persists the bars the aggregator closes. Batches queue up and are written one statement at a
 * time (never concurrently, so a slow database cannot pile up parallel inserts); days that are
 * over are rolled up into daily bars once. `drain()` waits for everything queued (shutdown).
 * `onWritten` sees each batch once it is durable (the service publishes `bar.1m.<SYMBOL>` from it),
 * so a subscriber never hears of a bar a read could not return.
 */
import type { Logger } from 'pino';
import type { Clock } from '../kernel/clock.ts';
import type { BarBatch } from './bar.ts';
import type { BarStore } from './bar-store.ts';

const DAY_MS = 86_400_000;

export class BarWriter {
  private queue: BarBatch[] = [];
  private running: Promise<void> | undefined;
  private readonly openDays = new Set<number>();
  written = 0;
  failed = 0;

  constructor(
    private readonly store: BarStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onWritten: (batch: BarBatch) => void = () => {},
  ) {}

  /** Takes ownership of the batch (the aggregator hands over a fresh one each time). */
  enqueue(batch: BarBatch): void {
    if (batch.length === 0) return;
    this.queue.push(batch);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  get pending(): number {
    return this.queue.reduce((n, b) => n + b.length, 0);
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.shift()!;
      try {
        for (const day of await this.store.insert(batch)) this.openDays.add(day);
        this.written += batch.length;
        this.onWritten(batch);
        await this.rollUpFinishedDays();
      } catch (error) {
        this.failed += batch.length;
        this.logger.error({ err: error, rows: batch.length }, 'bar batch write failed');
      }
    }
  }

  private async rollUpFinishedDays(): Promise<void> {
    const today = Math.floor(this.clock.now() / DAY_MS) * DAY_MS;
    const finished = [...this.openDays].filter((d) => d < today);
    if (finished.length === 0) return;
    await this.store.rollUpDays(finished);
    for (const day of finished) this.openDays.delete(day);
  }
}
