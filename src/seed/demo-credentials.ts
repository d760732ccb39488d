/**
 * The demo users' tokens, kept in the data directory (`demo-credentials.json`, readable by its owner
 * only) beside the data they open. Tokens are stored hashed in the database, so this file is what
 * lets a restart keep the same demo credentials valid (a reconnecting client keeps working) and lets
 * `tachyon users token --name admin` show the admin token again on the machine that owns the data.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** User name → plain token. */
export type SavedTokens = Record<string, string>;

export interface DemoCredentialFile {
  readonly path: string;
  read(): SavedTokens;
  write(tokens: SavedTokens): void;
}

export function demoCredentialFile(dataDir: string): DemoCredentialFile {
  const path = join(dataDir, 'demo-credentials.json');
  return {
    path,
    read() {
      if (!existsSync(path)) return {};
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return {};
      return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    },
    write(tokens) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(path, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });
      chmodSync(path, 0o600); // writeFileSync's mode applies only when it creates the file
    },
  };
}
