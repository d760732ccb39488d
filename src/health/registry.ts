/**
 * What the health endpoints report, filled by the components that know: named readiness checks
 * (may this instance take traffic now?) and dependency checks (the operator's view in
 * /api/health/detailed). The platform adds its lifecycle and database; other capabilities add
 * theirs (the feed leader, leases held, Redis, the queue) without the health routes knowing them.
 */
import { TaskCancelledError, timeout, TimeoutStrategy, type TimeoutPolicy } from 'cockatiel';

export interface CheckResult {
  ok: boolean;
  /** Why not ready (`starting`, `draining`, `database unreachable`, …). */
  reason?: string;
}

export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

export interface DependencyCheck {
  name: string;
  check(): Promise<{ ok: boolean; latencyMs: number; details?: Record<string, unknown> }>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export class HealthRegistry {
  private readonly readiness = new Map<string, ReadinessCheck>();
  readonly dependencies: DependencyCheck[] = [];
  /** Aggressive: the report does not wait for a check that hangs. */
  private readonly timeout: TimeoutPolicy;

  /** @param checkTimeoutMs a readiness check slower than this counts as failed (a probe must answer fast). */
  constructor(private readonly checkTimeoutMs: number) {
    this.timeout = timeout(checkTimeoutMs, TimeoutStrategy.Aggressive);
  }

  /** Adds (or replaces) a named readiness check. */
  addReadiness(name: string, check: ReadinessCheck): void {
    this.readiness.set(name, check);
  }

  addDependency(dependency: DependencyCheck): void {
    this.dependencies.push(dependency);
  }

  /** Every dependency's state; one that does not answer within the timeout is reported down. */
  async dependencyReport(): Promise<Array<{ name: string; ok: boolean; latencyMs: number; details?: Record<string, unknown> }>> {
    return Promise.all(
      this.dependencies.map(async (d) => {
        const result = await this.answer(() => d.check(), (error) => ({ ok: false, latencyMs: this.checkTimeoutMs, details: { error } }));
        return { name: d.name, ...result };
      }),
    );
  }

  async ready(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.readiness].map(async ([name, check]) => [name, await this.answer(check, (reason) => ({ ok: false, reason }))] as const),
    );
    return { ready: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
  }

  /** `fn`'s answer, or `failed(why)` when it throws or does not answer within the check timeout. */
  private async answer<T>(fn: () => T | Promise<T>, failed: (why: string) => T): Promise<T> {
    try {
      return await this.timeout.execute(() => fn());
    } catch (error) {
      return failed(error instanceof TaskCancelledError ? `no answer within ${this.checkTimeoutMs} ms` : (error as Error).message);
    }
  }
}
