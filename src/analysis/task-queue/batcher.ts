/**
 * Local micro-batching for the Redis adapter: jobs a worker has taken are gathered per type until
 * maxBatch or maxWaitMs (critical jobs flush at once), then run as one handler call under a
 * concurrency limit. BullMQ's open-source workers fetch jobs one by one; this gives batching on top.
 */
import type { BulkheadPolicy } from 'cockatiel';
import type { BatchHandler, BatchRule, TaskContext } from './port.ts';

interface Pending {
  context: TaskContext;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class Batcher {
  private pending: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Tasks held here or inside a running handler call. */
  held = 0;

  constructor(
    private readonly handler: BatchHandler,
    private readonly rule: BatchRule,
    /** Shared by every type's batcher: at most `concurrency` handler calls at once, the rest queued. */
    private readonly slots: BulkheadPolicy,
    private readonly onExecuted: (ms: number, count: number) => void,
  ) {}

  submit(context: TaskContext, urgent: boolean): Promise<unknown> {
    this.held++;
    return new Promise((resolve, reject) => {
      this.pending.push({ context, resolve, reject });
      if (urgent || this.pending.length >= this.rule.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.rule.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, this.rule.maxBatch);
    if (this.pending.length > 0) this.timer = setTimeout(() => this.flush(), this.rule.maxWaitMs);
    if (batch.length > 0) void this.run(batch);
  }

  private async run(batch: Pending[]): Promise<void> {
    await this.slots.execute(async () => {
      const started = performance.now();
      try {
        const results = await this.handler(batch.map((p) => p.context));
        if (!Array.isArray(results) || results.length !== batch.length) throw new Error(`handler returned ${Array.isArray(results) ? results.length : 'no'} results for ${batch.length} tasks`);
        batch.forEach((p, i) => {
          const r = results[i];
          if (r instanceof Error) p.reject(r);
          else p.resolve(r);
        });
      } catch (error) {
        for (const p of batch) p.reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        this.held -= batch.length;
        this.onExecuted(performance.now() - started, batch.length);
      }
    });
  }
}
