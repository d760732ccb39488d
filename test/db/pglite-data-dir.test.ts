import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbedded } from '../../src/db/pglite.ts';
import { isInitialized } from '../../src/db/pglite-init.ts';

// One fresh data directory: initdb runs in a child process, then the serving process opens it.
describe('embedded data directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'tachyon-pglite-'));
  const dataDir = join(root, 'pglite');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is created by a child process, tuned, and keeps data across a reopen', async () => {
    // A leftover of an interrupted earlier initialization (no PG_VERSION) is replaced, not trusted.
    mkdirSync(join(dataDir, 'base'), { recursive: true });
    writeFileSync(join(dataDir, 'base', 'stale'), 'half-moved');
    const first = await openEmbedded(dataDir);
    try {
      expect(isInitialized(dataDir)).toBe(true);
      expect(existsSync(join(dataDir, 'base', 'stale'))).toBe(false);
      expect(readFileSync(join(dataDir, 'postgresql.conf'), 'utf8')).toMatch(/^shared_buffers = 16MB/m);
      const { rows } = await first.query<{ shared_buffers: string }>('SHOW shared_buffers');
      expect(rows[0]?.shared_buffers).toBe('16MB');
      await first.exec('CREATE TABLE kept (id int PRIMARY KEY, note text)');
      await first.query('INSERT INTO kept VALUES ($1, $2)', [1, 'survives a reopen']);
    } finally {
      await first.close();
    }
    // The staging directory next to the data directory is gone.
    expect(readdirSync(root)).toEqual(['pglite']);

    const second = await openEmbedded(dataDir);
    try {
      const { rows } = await second.query<{ note: string }>('SELECT note FROM kept WHERE id = 1');
      expect(rows).toEqual([{ note: 'survives a reopen' }]);
    } finally {
      await second.close();
    }
  }, 120_000); // initdb takes seconds, and longer on a busy shared machine

  it('refuses a data directory another live process holds', async () => {
    writeFileSync(join(dataDir, 'tachyon.pid'), String(process.ppid));
    try {
      await expect(openEmbedded(dataDir)).rejects.toThrow(/in use by process/);
    } finally {
      rmSync(join(dataDir, 'tachyon.pid'), { force: true });
    }
  });
});
