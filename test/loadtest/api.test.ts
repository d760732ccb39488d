import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

let tp: TestPlatform;
let base: string;

beforeAll(async () => {
  tp = await startTestPlatform(pglite, { loadtest: { allowedHosts: ['127.0.0.1'], maxDurationMs: 120_000, maxRate: 100 } });
  base = await tp.platform.listen();
}, 60_000);
afterAll(() => tp?.close());

const call = async (method: string, path: string, body?: unknown, auth = tp.admin) => {
  const res = await fetch(`${base}${path}`, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as Record<string, unknown> & { id: number; status: string } };
};

describe('admin API: /api/performance/tests', () => {
  it('is for administrators only', async () => {
    expect((await call('POST', '/api/performance/tests', { scenario: 'smoke' }, tp.trader)).status).toBe(403);
    expect((await call('GET', '/api/performance/tests/history', undefined, tp.trader)).status).toBe(403);
  });

  it('refuses what the guardrails forbid before running anything (422), and unknown scenarios (400)', async () => {
    const refused = await call('POST', '/api/performance/tests', { scenario: 'smoke', target: 'http://example.com' });
    expect(refused.status).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'loadtest_guardrail' });
    expect((await call('POST', '/api/performance/tests', { scenario: 'smoke', rate: 1000 })).text).toMatch(/rate 1000 exceeds the allowed maximum 100/);
    expect((await call('POST', '/api/performance/tests', { scenario: 'smoke', duration: '10m' })).text).toMatch(/duration_ms 600000 exceeds/);
    expect((await call('POST', '/api/performance/tests', { scenario: '../../etc/passwd' })).status).toBe(400);
    expect((await call('GET', '/api/performance/tests/history')).json().items).toEqual([]);
    // The brief's path, without /api, serves the same handlers.
    expect((await call('GET', '/performance/tests/history')).json().items).toEqual([]);
  });

  it('starts a run, refuses a second one, cancels it through DELETE and keeps it in the history', async () => {
    const started = await call('POST', '/api/performance/tests', { scenario: 'smoke', rate: 5, duration: '60s' });
    expect(started.status).toBe(202);
    const { id } = started.json();
    expect(started.json()).toMatchObject({ status: 'running', scenario: 'smoke', options: { rate: 5, duration: '60s' } });
    expect((await call('POST', '/api/performance/tests', { scenario: 'smoke' })).status).toBe(409);

    // Let it send load for a moment, then cancel: DELETE answers once the run is recorded as cancelled.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const watched = (await call('GET', `/api/performance/tests/${id}`)).json();
    expect(watched.status).toBe('running');
    const cancelled = await call('DELETE', `/api/performance/tests/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json()).toMatchObject({ id, status: 'cancelled', summary: { exitCode: 105 } });
    expect((await call('DELETE', `/api/performance/tests/${id}`)).status).toBe(409);

    const results = await call('GET', `/api/performance/tests/${id}/results`);
    expect(results.json()).toMatchObject({ status: 'aborted', exitCode: 105, aborted: { reason: 'signal' } });
    const html = await call('GET', `/api/performance/tests/${id}/results?format=html`);
    expect(html.type).toMatch(/text\/html/);
    expect(html.text).toMatch(/ABORTED/);

    // The slot is free again; the history pages newest first.
    const second = await call('POST', '/api/performance/tests', { scenario: 'smoke', rate: 5, duration: '60s' });
    expect(second.status).toBe(202);
    expect((await call('DELETE', `/api/performance/tests/${second.json().id}`)).json().status).toBe('cancelled');
    const page1 = (await call('GET', '/api/performance/tests/history?limit=1')).json() as unknown as { items: Array<{ id: number }>; nextCursor: string };
    expect(page1.items.map((r) => r.id)).toEqual([second.json().id]);
    const page2 = (await call('GET', `/api/performance/tests/history?limit=1&cursor=${page1.nextCursor}`)).json() as unknown as { items: Array<{ id: number }> };
    expect(page2.items.map((r) => r.id)).toEqual([id]);
    expect((await call('GET', '/api/performance/tests/999999')).status).toBe(404);
  });
});

describe('credentials never leave with a load test', () => {
  const waitUntilEnded = async (id: number) => {
    for (let i = 0; i < 300; i++) {
      const row = (await call('GET', `/api/performance/tests/${id}`)).json();
      if (row.status !== 'running') return row;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`load test ${id} did not end`);
  };

  it('refuses a target URL carrying user:password@ (400), without storing or echoing it', async () => {
    const before = (await call('GET', '/api/performance/tests/history')).json().items as unknown[];
    const refused = await call('POST', '/api/performance/tests', { scenario: 'smoke', target: 'http://alice:s3cret-pw@127.0.0.1:1/' });
    expect(refused.status).toBe(400);
    expect(refused.type).toContain('application/problem+json');
    expect(refused.text).not.toContain('s3cret-pw');
    expect(refused.text).not.toContain('alice');
    const after = await call('GET', '/api/performance/tests/history');
    expect(after.json().items).toHaveLength(before.length);
    expect(after.text).not.toContain('s3cret-pw');
  });

  it('never sends the admin token (or any token) to a target that is not this platform', async () => {
    const seen: Array<string | undefined> = [];
    const recorder = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    try {
      const target = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
      const started = await call('POST', '/api/performance/tests', { scenario: 'smoke', target, rate: 5, duration: '2s' });
      expect(started.status).toBe(202);
      const ended = await waitUntilEnded(started.json().id);
      // The trading scenarios create accounts with an admin token: elsewhere they get none, and say so.
      expect(ended).toMatchObject({ status: 'error', error: expect.stringMatching(/admin token/) });
      expect(seen.every((authorization) => authorization === undefined)).toBe(true);
    } finally {
      recorder.closeAllConnections();
      await new Promise((resolve) => recorder.close(resolve));
    }
  });

  it('acts on this platform with a minted token that expires and is revoked when the run ends, never the starter’s', async () => {
    const { rows } = await tp.platform.db.query<{ live: number; revoked: number; lasting: number }>(
      `SELECT count(*) FILTER (WHERE revoked_at IS NULL)::int AS live, count(*) FILTER (WHERE revoked_at IS NOT NULL)::int AS revoked,
              count(*) FILTER (WHERE expires_at IS NULL)::int AS lasting
         FROM api_keys WHERE label = 'loadtest-run'`,
    );
    // The runs started above against this instance each had one; all ended, all revoked, none without an expiry.
    expect(rows[0]).toMatchObject({ live: 0, lasting: 0 });
    expect(rows[0]!.revoked).toBeGreaterThanOrEqual(2);
  });
});
