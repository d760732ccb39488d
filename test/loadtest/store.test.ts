import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { RunStore } from '../../src/loadtest/api/store.ts';
import { engines } from '../support/engines.ts';

describe.each(await engines())('load-test run store on $name', (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await engine.open());
    await migrate(db);
  });
  afterAll(() => cleanup());

  it('marks runs a dead instance left running as errors, once they are older than the longest run', async () => {
    const store = new RunStore(db);
    const run = { instanceId: 'gone', scenario: 'smoke', target: 'http://127.0.0.1:1', options: {}, createdBy: null };
    const old = await store.create(run);
    await db.query("UPDATE load_test_runs SET started_at = now() - interval '2 hours' WHERE id = $1", [old.id]);
    const recent = await store.create(run);
    const finished = await store.create(run);
    await store.finish(finished.id, { status: 'passed' });

    expect(await store.abandonStale(3_600_000)).toBe(1);
    expect((await store.get(old.id))?.status).toBe('error');
    expect((await store.get(old.id))?.error).toMatch(/stopped before it ended/);
    expect((await store.get(recent.id))?.status).toBe('running');
    expect((await store.get(finished.id))?.status).toBe('passed');

    expect(await store.abandonStale(0)).toBe(1);
    expect((await store.get(recent.id))?.status).toBe('error');
  });
});
