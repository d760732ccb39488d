/**
 * Fault injection for operators and tests (admin, off unless TACHYON_FAULT_INJECTION is set): added
 * latency and/or errors on a route class (the first path segment after /api, e.g. `market-data`),
 * so alerts, dashboards and runbooks can be exercised end to end. The performance routes themselves
 * are exempt, so a fault can always be removed. The hook is installed only when enabled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { ServiceUnavailableError } from '../kernel/errors.ts';
import { routeOf } from './http.ts';

export interface Fault {
  routeClass: string;
  /** Added before the handler runs. */
  latencyMs: number;
  /** Fraction of requests answered 503 instead of being handled. */
  errorRate: number;
}

export function routeClassOf(route: string): string {
  const parts = route.split('/').filter(Boolean);
  return (parts[0] === 'api' ? parts[1] : parts[0]) ?? '';
}

export class FaultInjector {
  private readonly faults = new Map<string, Fault>();

  set(fault: Fault): void {
    this.faults.set(fault.routeClass, fault);
  }

  clear(routeClass?: string): void {
    if (routeClass === undefined) this.faults.clear();
    else this.faults.delete(routeClass);
  }

  /** Whether any fault is set (requests must then pass through `install`'s hook). */
  active(): boolean {
    return this.faults.size > 0;
  }

  list(): Fault[] {
    return [...this.faults.values()];
  }

  install(app: FastifyInstance): void {
    app.addHook('preHandler', async (request) => {
      if (this.faults.size === 0) return;
      const routeClass = routeClassOf(routeOf(request));
      const fault = routeClass === 'performance' ? undefined : this.faults.get(routeClass);
      if (!fault) return;
      if (fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (Math.random() < fault.errorRate) throw new ServiceUnavailableError(`fault injected on ${routeClass}`);
    });
  }
}
