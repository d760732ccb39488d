export type Role = 'trader' | 'admin';

/** Who is calling: resolved from the API token once, then cached. */
export interface Principal {
  userId: number;
  name: string;
  role: Role;
  /** Accounts this user owns: the only ones it may read or trade. */
  accountIds: readonly number[];
}
