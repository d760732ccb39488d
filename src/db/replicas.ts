/**
 * Read replicas as the adapter uses them: a probe every second measures each replica's replay
 * lag; reads go round-robin to the replicas that answer and lag less than the bound, and to the
 * primary when none does. A read that fails on a replica for a reason other than the query itself
 * (connection lost, timeout, recovery conflict) is retried once on the primary and takes that
 * replica out until its next good probe: a replica going down costs no failed request.
 */
import type { Queryable, QueryResult } from './database.ts';

const PROBE_EVERY_MS = 1_000;
// Caught up (nothing received but not replayed) counts as no lag, even when the primary is idle.
const LAG_SQL = `SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END::float8 AS lag_ms`;

export interface ReplicaStatus {
  index: number;
  usable: boolean;
  /** Last measured replay lag; null when the probe failed. */
  lagMs: number | null;
  error?: string;
}

/** The SQLSTATE of an error the server answered with; undefined for client-side and network failures. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Classes where the replica, not the query, is at fault: connection (08), resources (53), operator/shutdown (57), system (58), recovery conflicts (40). */
const REPLICA_FAULT_CLASSES = new Set(['08', '53', '57', '58', '40']);

function replicaAtFault(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === undefined || REPLICA_FAULT_CLASSES.has(state.slice(0, 2));
}

export class ReplicaSet {
  private readonly states: ReplicaStatus[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly replicas: Queryable[],
    private readonly maxLagMs: number,
  ) {
    // Usable until a probe or a query says otherwise: a start must not wait on a replica.
    this.states = replicas.map((_, index) => ({ index, usable: true, lagMs: null }));
  }

  start(): void {
    const probe = () => void this.probe();
    probe();
    this.timer = setInterval(probe, PROBE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  status(): ReplicaStatus[] {
    return this.states.map((s) => ({ ...s }));
  }

  async probe(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (replica, i) => {
        const state = this.states[i]!;
        try {
          const { rows } = await replica.query<{ lag_ms: number }>(LAG_SQL);
          state.lagMs = Math.round(rows[0]?.lag_ms ?? 0);
          state.usable = state.lagMs <= this.maxLagMs;
          state.error = state.usable ? undefined : `lag ${state.lagMs} ms above ${this.maxLagMs} ms`;
        } catch (error) {
          Object.assign(state, { usable: false, lagMs: null, error: (error as Error).message });
        }
      }),
    );
  }

  /** Runs `read` on a usable replica, or `onPrimary` when there is none or the replica fails. */
  async query<T>(read: (replica: Queryable) => Promise<QueryResult<T>>, onPrimary: () => Promise<QueryResult<T>>): Promise<QueryResult<T>> {
    const index = this.pick();
    if (index === undefined) return onPrimary();
    try {
      return await read(this.replicas[index]!);
    } catch (error) {
      if (!replicaAtFault(error)) throw error;
      Object.assign(this.states[index]!, { usable: false, error: (error as Error).message });
      return onPrimary();
    }
  }

  private pick(): number | undefined {
    for (let tried = 0; tried < this.states.length; tried++) {
      const index = this.next++ % this.states.length;
      if (this.states[index]!.usable) return index;
    }
    return undefined;
  }
}
