/**
 * A rollout as the API, the controller and the history see it. `spec` is what was asked; the rest is
 * what the controller did.
 */
import type { Analysis, AnalysisConfig } from './analysis.ts';

export type RolloutStrategy = 'canary' | 'blue-green';

/**
 * pending → starting (the new version's instances) → progressing (canary steps) | switched (blue-green,
 * until promote or abort) → promoting → promoted; or → rolling-back → rolled-back (a failed analysis,
 * an abort, an instance that never became ready); failed: the controller itself could not go on.
 */
export type RolloutStatus = 'pending' | 'starting' | 'progressing' | 'switched' | 'promoting' | 'promoted' | 'rolling-back' | 'rolled-back' | 'failed';

export const ACTIVE_STATUSES: readonly RolloutStatus[] = ['pending', 'starting', 'progressing', 'switched', 'promoting', 'rolling-back'];

export interface VersionSpec {
  /** Another checkout or build directory holding bin/tachyon.js; absent: this installation. */
  dir?: string;
  /** Environment overrides of the new version's instances (TACHYON_* and LOG_LEVEL only). */
  env: Record<string, string>;
  /** A name for the history (a tag, a commit). */
  label?: string;
}

export interface RolloutSpec {
  version: VersionSpec;
  /** Canary: the new version's traffic share at each step, percent, ascending, ending at 100. */
  steps: number[];
  /** Canary: the analysis window of each step, seconds. */
  stepSeconds: number;
  /** Canary: seconds at the first step's weight before its analysis opens (a fresh process warms its JIT, caches, account shards). */
  warmupSeconds: number;
  /** Canary: windows a step may extend to while the canary has too little traffic to judge. */
  maxWindows: number;
  /** Canary instances during the steps (more are started before the last step so the new set matches the old). */
  canaryInstances: number;
  analysis: AnalysisConfig;
}

export interface StepRecord {
  share: number;
  startedAt: string;
  endedAt?: string;
  outcome: 'running' | 'passed' | 'failed' | 'skipped' | 'promoted';
  /** Windows analysed (more than one when a window was inconclusive). */
  windows: number;
  analysis?: Analysis;
}

export interface RolloutInstance {
  name: string;
  url: string;
}

export interface Rollout {
  id: number;
  strategy: RolloutStrategy;
  status: RolloutStatus;
  spec: RolloutSpec;
  requestedBy: string;
  action: 'promote' | 'abort' | null;
  actionBy: string | null;
  share: number;
  steps: StepRecord[];
  instances: RolloutInstance[];
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** What the controller says about its cluster in its heartbeat. */
export interface ControllerInfo {
  /** The instances serving the current version. */
  stable: RolloutInstance[];
  url: string;
}
