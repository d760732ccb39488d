/**
 * Leases in PostgreSQL: the one coordination primitive of the scaled deployment (account shard
 * ownership, the feed leader, run-once jobs). Every operation is one statement, atomic on both
 * engines, timed by the database's clock. See 007_cluster.sql for the fencing rule.
 *
 * Every statement that locks several lease rows locks them in name order, as the journal's fence does
 * (FOR SHARE): a renewal locking in table order deadlocked with a batch locking in its own order, and
 * PostgreSQL aborted the batch, failing every order in it (a full test run and a benchmark, 2026-11-26).
 */
import type { Queryable } from '../db/database.ts';

export interface Lease {
  name: string;
  holder: string;
  epoch: number;
  /** Epoch milliseconds (database time) at which the lease lapses unless renewed. */
  expiresAt: number;
  address: string | null;
  /** Whether the lease had lapsed when read (database time): nobody holds it, whatever `holder` says. */
  lapsed: boolean;
}

interface LeaseRow {
  name: string;
  holder: string;
  epoch: string | number;
  expires_at: Date | string;
  address: string | null;
  lapsed: boolean;
}

const COLUMNS = 'name, holder, epoch, expires_at, address, expires_at < now() AS lapsed';
const L_COLUMNS = 'l.name, l.holder, l.epoch, l.expires_at, l.address, l.expires_at < now() AS lapsed';

function toLease(row: LeaseRow): Lease {
  return { name: row.name, holder: row.holder, epoch: Number(row.epoch), expiresAt: new Date(row.expires_at).getTime(), address: row.address, lapsed: row.lapsed };
}

export class LeaseStore {
  constructor(
    private readonly db: Queryable,
    /** This instance's identity as a holder. */
    readonly holder: string,
    /** Where this instance answers forwarded requests (published with every lease it holds). */
    private address: string | null = null,
  ) {}

  /** Sets the address published from the next acquisition or renewal on (known only once the server listens on port 0). */
  advertise(address: string): void {
    this.address = address;
  }

  /**
   * Takes every named lease that is free, lapsed or already ours, for `ttlMs` from now. Returns the
   * leases this instance holds afterwards among `names`. A lapsed lease taken again (even by its
   * previous holder) gets a new epoch: whatever the holder had loaded under the old one is stale.
   */
  async acquire(names: readonly string[], ttlMs: number): Promise<Lease[]> {
    if (names.length === 0) return [];
    const { rows } = await this.db.query<LeaseRow>(
      `INSERT INTO cluster_leases AS l (name, holder, epoch, expires_at, address)
         SELECT n, $2, 1, now() + $3 * interval '1 millisecond', $4 FROM unnest($1::text[]) AS n ORDER BY n
       ON CONFLICT (name) DO UPDATE SET
         holder = EXCLUDED.holder,
         epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at >= now() THEN l.epoch ELSE l.epoch + 1 END,
         expires_at = EXCLUDED.expires_at,
         address = EXCLUDED.address
       WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
       RETURNING ${COLUMNS}`,
      [names, this.holder, ttlMs, this.address],
    );
    return rows.map(toLease);
  }

  /**
   * Extends the leases among `names` that this instance still holds and that have not lapsed; returns
   * them. A lease missing from the answer is lost (or lapsed): its state must be dropped or reloaded.
   */
  async renew(names: readonly string[], ttlMs: number): Promise<Lease[]> {
    if (names.length === 0) return [];
    const { rows } = await this.db.query<LeaseRow>(
      `WITH locked AS (
         SELECT name FROM cluster_leases WHERE name = ANY($1::text[]) AND holder = $2 AND expires_at >= now() ORDER BY name FOR NO KEY UPDATE
       )
       UPDATE cluster_leases l SET expires_at = now() + $3 * interval '1 millisecond', address = $4 FROM locked WHERE l.name = locked.name
       RETURNING ${L_COLUMNS}`,
      [names, this.holder, ttlMs, this.address],
    );
    return rows.map(toLease);
  }

  /** Lets the named leases lapse now (after the holder's last write), so another instance takes them at once. */
  async release(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.db.query(
      `WITH locked AS (SELECT name FROM cluster_leases WHERE name = ANY($1::text[]) AND holder = $2 ORDER BY name FOR NO KEY UPDATE)
       UPDATE cluster_leases l SET expires_at = now() - interval '1 millisecond' FROM locked WHERE l.name = locked.name`,
      [names, this.holder],
    );
  }

  /** The leases whose names start with `prefix` that have not lapsed (the live instances' heartbeats). */
  async live(prefix: string): Promise<Lease[]> {
    const { rows } = await this.db.query<LeaseRow>(`SELECT ${COLUMNS} FROM cluster_leases WHERE starts_with(name, $1) AND expires_at >= now() ORDER BY name`, [prefix]);
    return rows.map(toLease);
  }

  /** The current rows for `names` (all leases when omitted), lapsed ones included. */
  async list(names?: readonly string[]): Promise<Lease[]> {
    const { rows } = names
      ? await this.db.query<LeaseRow>(`SELECT ${COLUMNS} FROM cluster_leases WHERE name = ANY($1::text[]) ORDER BY name`, [names])
      : await this.db.query<LeaseRow>(`SELECT ${COLUMNS} FROM cluster_leases ORDER BY name`);
    return rows.map(toLease);
  }
}
