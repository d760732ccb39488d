/**
 * The faults a chaos run injects, each with what the degraded system promises while it lasts
 * (thresholds over the fault's interval; the recovery after it is judged on the steady SLO):
 *  - kill:  kill -9 of one instance; the supervisor restarts it. Its accounts answer 503 until their
 *           leases lapse, requests in flight on it fail. Lasts until the new process is ready.
 *  - stop:  SIGSTOP of one instance for longer than its lease, then SIGCONT: its accounts move to the
 *           others while it sleeps, and on waking it must not commit (the fence) and must rejoin.
 *  - redis: Redis cut (every connection reset, new ones refused): instances degrade, not die.
 *  - pg:    PostgreSQL slowed (every chunk delayed both ways), then cut: writes fail fast with a
 *           retryable 503, reads served from memory go on.
 *  - route: latency and errors added on the market-data route class on every instance (the
 *           platform's own fault injection, /api/performance/faults).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../cluster/local-cluster.ts';
import { BadRequestError } from '../../kernel/errors.ts';
import type { ThresholdInput } from '../scenario.ts';
import type { ChaosEnvironment } from './environment.ts';

export const FAULT_KINDS = ['kill', 'stop', 'redis', 'pg', 'route'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultContext {
  env: ChaosEnvironment;
  /** Shard lease TTL of the instances: SIGSTOP outlasts it. */
  leaseTtlMs: number;
  /** How many times this kind ran before (victims rotate). */
  occurrence: number;
  signal: AbortSignal;
  /** Marks when the fault took effect (its interval starts here, after any preparation). */
  began: () => void;
}

export interface FaultDefinition {
  /** Thresholds over the fault's interval. */
  during: ThresholdInput;
  /** Injects, holds and heals the fault; resolves with what happened, for the report. Heals even when aborted. */
  run(ctx: FaultContext): Promise<string>;
}

const REDIS_CUT_MS = 5_000;
const PG_SLOW_MS = 4_000;
const PG_SLOW_DELAY_MS = 100;
const PG_CUT_MS = 3_000;
const ROUTE_MS = 5_000;
const ROUTE_CLASS = 'market-data';
const ROUTE_FAULT = { latencyMs: 200, errorRate: 0.1 };
/** A killed instance that is not serving again after this long fails the run's schedule. */
const RESTART_TIMEOUT_MS = 120_000;

export const FAULTS: Record<FaultKind, FaultDefinition> = {
  kill: {
    // In flight on the victim, plus orders of its accounts (a third) until their leases lapse.
    during: { http_req_failed: ['rate<0.2'] },
    async run(ctx) {
      const { name, pid, url } = victim(ctx, 1);
      ctx.began();
      process.kill(pid, 'SIGKILL');
      const started = performance.now();
      const deadline = Date.now() + RESTART_TIMEOUT_MS;
      let next: number | undefined;
      while (!(next = ctx.env.pidOf(name)) || next === pid) {
        if (Date.now() > deadline) throw new Error(`${name} was not restarted within ${RESTART_TIMEOUT_MS} ms`);
        await sleep(100);
      }
      await waitFor(`${url}/api/health/ready`, Math.max(1, deadline - Date.now()));
      return `kill -9 ${name} (pid ${pid}); restarted as pid ${next}, ready after ${((performance.now() - started) / 1000).toFixed(1)} s`;
    },
  },
  stop: {
    // Requests on the sleeping instance wait for HAProxy's checks to mark it down; its accounts, for their leases.
    during: { http_req_failed: ['rate<0.3'] },
    async run(ctx) {
      const { name, pid } = victim(ctx, 2);
      const holdMs = ctx.leaseTtlMs + 3_000;
      ctx.began();
      process.kill(pid, 'SIGSTOP');
      try {
        await hold(holdMs, ctx.signal);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      return `SIGSTOP ${name} (pid ${pid}) for ${holdMs / 1000} s (lease ${ctx.leaseTtlMs / 1000} s), then SIGCONT`;
    },
  },
  redis: {
    during: { http_req_failed: ['rate<0.05'] },
    async run(ctx) {
      ctx.began();
      ctx.env.redis.cut();
      try {
        await hold(REDIS_CUT_MS, ctx.signal);
      } finally {
        ctx.env.redis.heal();
      }
      return `Redis cut for ${REDIS_CUT_MS / 1000} s`;
    },
  },
  pg: {
    // Orders need the database (a third of the mix and more): they fail fast with 503 while it is cut.
    during: { http_req_failed: ['rate<0.6'] },
    async run(ctx) {
      ctx.began();
      try {
        ctx.env.pg.slow(PG_SLOW_DELAY_MS);
        await hold(PG_SLOW_MS, ctx.signal);
        ctx.env.pg.cut();
        await hold(PG_CUT_MS, ctx.signal);
      } finally {
        ctx.env.pg.heal();
      }
      return `PostgreSQL slowed by ${PG_SLOW_DELAY_MS} ms each way for ${PG_SLOW_MS / 1000} s, then cut for ${PG_CUT_MS / 1000} s`;
    },
  },
  route: {
    // market-data is about half the mix: 10% of it answers 503.
    during: { http_req_failed: ['rate<0.15'] },
    async run(ctx) {
      const instances = ctx.env.instances();
      const headers = { authorization: `Bearer ${ctx.env.adminToken}`, 'content-type': 'application/json' };
      ctx.began();
      await Promise.all(instances.map((i) => expectOk(fetch(`${i.url}/api/performance/faults/${ROUTE_CLASS}`, { method: 'PUT', headers, body: JSON.stringify(ROUTE_FAULT) }))));
      try {
        await hold(ROUTE_MS, ctx.signal);
      } finally {
        // An instance restarted meanwhile has no fault left to remove (404).
        await Promise.all(instances.map((i) => fetch(`${i.url}/api/performance/faults/${ROUTE_CLASS}`, { method: 'DELETE', headers }).catch(() => undefined)));
      }
      return `${ROUTE_FAULT.latencyMs} ms and ${ROUTE_FAULT.errorRate * 100}% errors on /api/${ROUTE_CLASS}/* of every instance for ${ROUTE_MS / 1000} s`;
    },
  },
};

export function parseFaults(list: string): FaultKind[] {
  const kinds = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const kind of kinds) if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new BadRequestError(`--faults: unknown fault "${kind}" (one of ${FAULT_KINDS.join(', ')})`);
  if (kinds.length === 0) throw new BadRequestError(`--faults: name at least one of ${FAULT_KINDS.join(', ')}`);
  return kinds as FaultKind[];
}

/** Victims rotate over the instances; kill and stop start at different ones. */
function victim(ctx: FaultContext, offset: number): { name: string; pid: number; url: string } {
  const instances = ctx.env.instances();
  const instance = instances[(offset + ctx.occurrence) % instances.length]!;
  const pid = ctx.env.pidOf(instance.name);
  if (!pid) throw new Error(`${instance.name} has no running process to fail`);
  return { name: instance.name, pid, url: instance.url };
}

/** Waits `ms`, or less when the run is aborted (the caller heals in `finally`). */
async function hold(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

async function expectOk(response: Promise<Response>): Promise<void> {
  const res = await response;
  if (!res.ok) throw new Error(`injecting the ${ROUTE_CLASS} fault answered HTTP ${res.status}: ${await res.text()}`);
}
