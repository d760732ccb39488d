/** Users, their API keys and paper accounts in the database. */
import type { Database, Queryable } from '../db/database.ts';
import { ConflictError } from '../kernel/errors.ts';
import type { Principal, Role } from './principal.ts';
import { generateToken, hashToken, tokenHint } from './tokens.ts';

/** Paper account funding when none is given, in currency units. */
export const DEFAULT_OPENING_CASH = 1_000_000;

export interface CreatedUser {
  userId: number;
  name: string;
  role: Role;
  accountId: number | undefined;
  /** The plain token: shown once, never stored. */
  token: string;
}

export interface CreateUserInput {
  name: string;
  role: Role;
  /** Opening cash of the user's paper account in units; traders get one, admins none. */
  openingCash?: number;
  /** A chosen token (demo users from configuration); random otherwise. */
  token?: string;
  label?: string;
}

export class UserStore {
  constructor(private readonly db: Database) {}

  async create(input: CreateUserInput): Promise<CreatedUser> {
    const token = input.token ?? generateToken();
    try {
      return await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number }>('INSERT INTO users (name, role) VALUES ($1, $2) RETURNING id', [input.name, input.role]);
        const userId = rows[0]!.id;
        await insertKey(tx, userId, token, input.label ?? 'created');
        let accountId: number | undefined;
        if (input.role === 'trader') {
          const cash = input.openingCash ?? 0;
          const account = await tx.query<{ id: number }>('INSERT INTO accounts (user_id, opening_cash, cash) VALUES ($1, $2, $2) RETURNING id', [userId, cash]);
          accountId = account.rows[0]!.id;
        }
        return { userId, name: input.name, role: input.role, accountId, token };
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ConflictError(`a user named "${input.name}" already exists`);
      throw error;
    }
  }

  async findByName(name: string): Promise<{ id: number; role: Role } | undefined> {
    const { rows } = await this.db.query<{ id: number; role: Role }>('SELECT id, role FROM users WHERE name = $1', [name]);
    return rows[0];
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return rows[0]!.n;
  }

  /**
   * Issues a new token for an existing user, optionally revoking that user's earlier keys with the
   * same label; with `expiresInMs` the key stops authenticating after that long.
   */
  async issueToken(userId: number, label: string, opts: { token?: string; revokeSameLabel?: boolean; expiresInMs?: number } = {}): Promise<string> {
    const token = opts.token ?? generateToken();
    await this.db.transaction(async (tx) => {
      if (opts.revokeSameLabel) {
        await tx.query('UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND label = $2 AND revoked_at IS NULL', [userId, label]);
      }
      const hash = hashToken(token);
      const existing = await tx.query('SELECT 1 FROM api_keys WHERE token_hash = $1 AND revoked_at IS NULL', [hash]);
      if (existing.rowCount === 0) await insertKey(tx, userId, token, label, opts.expiresInMs);
    });
    return token;
  }

  async revokeToken(token: string): Promise<void> {
    await this.db.query('UPDATE api_keys SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL', [hashToken(token)]);
  }

  /** Resolves a token hash to its principal, or undefined for an unknown or revoked token. */
  async principalForHash(hash: string): Promise<Principal | undefined> {
    const { rows } = await this.db.query<{ user_id: number; name: string; role: Role; account_ids: number[] | null }>(
      `SELECT u.id AS user_id, u.name, u.role,
              (SELECT array_agg(a.id ORDER BY a.id) FROM accounts a WHERE a.user_id = u.id) AS account_ids
         FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [hash],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { userId: row.user_id, name: row.name, role: row.role, accountIds: (row.account_ids ?? []).map(Number) };
  }
}

async function insertKey(tx: Queryable, userId: number, token: string, label: string, expiresInMs?: number): Promise<void> {
  await tx.query(
    `INSERT INTO api_keys (user_id, token_hash, prefix, label, expires_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $5::bigint IS NULL THEN NULL ELSE now() + $5::bigint * interval '1 millisecond' END)`,
    [userId, hashToken(token), tokenHint(token), label, expiresInMs ?? null],
  );
}
