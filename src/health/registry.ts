/**
 * What the health endpoints report, filled by the components that know: named readiness checks
 * (may this instance take traffic now?) and dependency checks (the operator's view in
 * /api/health/detailed). The platform adds its lifecycle and database; other capabilities add
 * theirs (the feed leader, leases held, Redis, the queue) without the health routes knowing them.
 */

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

  /** @param checkTimeoutMs a readiness check slower than this counts as failed (a probe must answer fast). */
  constructor(private readonly checkTimeoutMs: number) {}

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
        const result = await withTimeout(() => d.check(), this.checkTimeoutMs, (error) => ({ ok: false, latencyMs: this.checkTimeoutMs, details: { error } }));
        return { name: d.name, ...result };
      }),
    );
  }

  async ready(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.readiness].map(async ([name, check]) => [name, await withTimeout(check, this.checkTimeoutMs, (reason) => ({ ok: false, reason }))] as const),
    );
    return { ready: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
  }
}

/** `fn`'s answer, or `failed(why)` when it throws or does not answer within `ms`. */
async function withTimeout<T>(fn: () => T | Promise<T>, ms: number, failed: (why: string) => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(failed(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } catch (error) {
    return failed((error as Error).message);
  } finally {
    clearTimeout(timer);
  }
}
