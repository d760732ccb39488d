import type { MetricsSnapshot } from '../metrics.ts';
import type { ShardParams } from '../shard.ts';

export interface WorkerInit {
  scenarioUrl: string;
  params: Omit<ShardParams, 'startMs'>;
}

export type ToWorker = { type: 'start'; startMs: number } | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'metrics'; snapshot: MetricsSnapshot }
  | { type: 'done'; snapshot: MetricsSnapshot; errors: Array<[string, number]> }
  | { type: 'failed'; message: string };
