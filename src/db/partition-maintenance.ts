/**
 * Partition maintenance: every month-partitioned table gets its partitions `aheadMonths` ahead of now (so
 * the first write of a month never waits for DDL), and, when `archiveAfterMonths` > 0, months older than
 * that are archived (detached into the archive schema, kept) and the order keys of archived months are
 * pruned (MonthPartitions.pruneOrderKeys). Runs at start and then every `intervalMs`;
 * every instance runs it: creating is idempotent and archiving takes an advisory lock.
 */
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from 'pino';
import type { Database } from './database.ts';
import { MONTH_PARTITIONED, monthStart, type MonthPartitions, type PartitionedTable } from './partitions.ts';

export interface PartitionMaintenanceOptions {
  aheadMonths: number;
  /** 0: never archive. */
  archiveAfterMonths: number;
  intervalMs: number;
}

export interface MaintenanceReport {
  archived: string[];
  /** Months that could not be archived yet, and why (an open order, a failure). */
  skipped: { name: string; reason: string }[];
  /** order_keys rows deleted: keys of orders whose month is archived. */
  prunedKeys: number;
}

export class PartitionMaintenance {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly partitions: MonthPartitions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: PartitionMaintenanceOptions,
  ) {}

  start(): void {
    const run = () => void this.run().catch((error: unknown) => this.logger.warn({ err: error }, 'partition maintenance failed; retried at the next run'));
    run();
    this.timer = setInterval(run, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async run(): Promise<MaintenanceReport> {
    const now = this.clock.now();
    const tables = Object.keys(MONTH_PARTITIONED) as PartitionedTable[];
    for (const table of tables) await this.partitions.ensure(table, now, monthStart(now, this.options.aheadMonths));
    const report: MaintenanceReport = { archived: [], skipped: [], prunedKeys: 0 };
    if (this.options.archiveAfterMonths <= 0) return report;
    const cutoff = monthStart(now, -this.options.archiveAfterMonths);
    for (const table of tables) {
      for (const partition of await this.partitions.list(table)) {
        if (partition.to > cutoff) continue;
        try {
          report.archived.push(await this.partitions.archive(this.db, table, partition.name));
        } catch (error) {
          report.skipped.push({ name: partition.name, reason: (error as Error).message });
        }
      }
    }
    report.prunedKeys = await this.partitions.pruneOrderKeys(cutoff);
    if (report.archived.length > 0 || report.prunedKeys > 0) this.logger.info({ archived: report.archived, prunedKeys: report.prunedKeys }, 'partitions archived');
    return report;
  }
}
