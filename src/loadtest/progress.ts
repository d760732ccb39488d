/**
 * Live progress: a snapshot computed once a second from the merged metrics, and a printer that
 * rewrites one line on a TTY (stderr, so stdout stays clean for JSON) or prints a line every 10 s otherwise.
 */
import type { Writable } from 'node:stream';
import { formatDuration } from './duration.ts';
import { percentileMs } from '../kernel/histogram.ts';
import { aggregate } from './metrics.ts';
import type { MetricsRegistry } from './metrics.ts';

export interface Progress {
  elapsedMs: number;
  durationMs: number;
  requests: number;
  iterations: number;
  /** Arrivals dropped so far because every VU was busy (arrival-rate executors). */
  dropped: number;
  /** Requests per second over the last complete seconds. */
  rps: number;
  /** p95 of http_req_duration over the last complete seconds (ms). */
  p95: number;
  /** Whole-run share of failed requests so far. */
  errorRate: number;
  thresholdsFailing: number;
}

/** Seconds averaged for the "current" rate and p95: short enough to be live, long enough to be stable. */
const RECENT_SECONDS = 3;

export function progressOf(registry: MetricsRegistry, elapsedMs: number, durationMs: number, lastCompleteSecond: number, thresholdsFailing: number): Progress {
  const from = Math.max(0, lastCompleteSecond - RECENT_SECONDS + 1);
  const recent = aggregate(registry.select('http_req_duration'), from, lastCompleteSecond);
  const recentCount = recent?.histogram?.totalCount ?? 0;
  const span = lastCompleteSecond >= 0 ? lastCompleteSecond - from + 1 : 0;
  const failed = aggregate(registry.select('http_req_failed'));
  return {
    elapsedMs,
    durationMs,
    requests: failed?.total ?? 0,
    iterations: aggregate(registry.select('iterations'))?.sum ?? 0,
    dropped: aggregate(registry.select('dropped_iterations'))?.sum ?? 0,
    rps: span > 0 ? recentCount / span : 0,
    p95: recent?.histogram ? percentileMs(recent.histogram, 95) : 0,
    errorRate: failed && failed.total > 0 ? failed.pass / failed.total : 0,
    thresholdsFailing,
  };
}

export function formatProgress(p: Progress): string {
  const pct = p.durationMs > 0 ? Math.min(100, (100 * p.elapsedMs) / p.durationMs) : 0;
  return [
    `${formatDuration(p.elapsedMs)}/${formatDuration(p.durationMs)} (${pct.toFixed(0)}%)`,
    `${p.rps.toFixed(0)} req/s`,
    `p95 ${p.p95.toFixed(2)}ms`,
    `errors ${(100 * p.errorRate).toFixed(2)}%`,
    `reqs ${p.requests}`,
    `iters ${p.iterations}`,
    p.dropped > 0 ? `dropped ${p.dropped}` : '',
    p.thresholdsFailing > 0 ? `✗ ${p.thresholdsFailing} threshold(s) failing` : '',
  ].filter(Boolean).join(' | ');
}

export class ProgressPrinter {
  private lastLineAt = 0;
  private readonly tty: boolean;
  constructor(
    private readonly out: Writable & { isTTY?: boolean } = process.stderr,
    private readonly periodMs = 10_000,
  ) {
    this.tty = out.isTTY === true;
  }

  update(p: Progress): void {
    if (this.tty) {
      this.out.write(`\r\x1b[2K${formatProgress(p)}`);
      return;
    }
    if (p.elapsedMs - this.lastLineAt >= this.periodMs) {
      this.lastLineAt = p.elapsedMs;
      this.out.write(`${formatProgress(p)}\n`);
    }
  }

  /** Ends the live line so the summary starts on a fresh one. */
  done(): void {
    if (this.tty) this.out.write('\n');
  }
}
