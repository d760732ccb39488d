/**
 * Durability under SIGKILL: the real server takes concurrent orders, is killed mid-load, restarts on
 * the same database, and must still have every order it acknowledged (with at least the fills it
 * reported) — and `tachyon reconcile` must find the books consistent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { createTempDatabase, pgAvailable } from '../support/servers.ts';
import { exited, runCli, startServer } from './server-process.ts';

const DEMO = 'sigkill-demo-token-0123456789';
const ADMIN = 'sigkill-admin-token-0123456789';
const CLIENTS = 16;
const LOAD_MS = 1_500;

interface Ack {
  id: number;
  filledQuantity: number;
}

const SYMBOLS = ['AAPL', 'MSFT', 'AMZN', 'GOOGL'];

async function load(url: string, until: () => boolean, onAck: () => void): Promise<Ack[]> {
  const pool = new Pool(url, { connections: CLIENTS });
  const acks: Ack[] = [];
  let n = 0;
  const client = async () => {
    while (!until()) {
      const i = n++;
      const symbol = SYMBOLS[i % SYMBOLS.length]!;
      try {
        const body = i % 3 === 0
          ? { symbol, side: 'buy', type: 'market', quantity: 1 }
          : i % 3 === 1
            ? { symbol, side: 'sell', type: 'market', quantity: 1 }
            : { symbol, side: 'buy', type: 'limit', limitPrice: await lastPrice(pool, symbol), quantity: 1, timeInForce: 'gtc', clientOrderId: `k${i}` };
        const res = await pool.request({ path: '/api/orders', method: 'POST', headers: { authorization: `Bearer ${DEMO}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await res.body.text();
        if (res.statusCode === 201) {
          acks.push(JSON.parse(text) as Ack);
          onAck();
        }
      } catch {
        return; // the server died: this client's in-flight order was never acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  await pool.destroy().catch(() => {});
  return acks;
}

const prices = new Map<string, number>();
async function lastPrice(pool: Pool, symbol: string): Promise<number> {
  if (!prices.has(symbol)) {
    const res = await pool.request({ path: `/api/market-data/quotes/${symbol}`, method: 'GET', headers: { authorization: `Bearer ${DEMO}` } });
    prices.set(symbol, (JSON.parse(await res.body.text()) as { last: number }).last);
  }
  return prices.get(symbol)!;
}

async function killMidLoadAndVerify(env: Record<string, string>): Promise<void> {
  const first = await startServer(env);
  let killed = false;
  let acked = 0;
  const loading = load(first.url, () => killed, () => acked++);
  // Kill mid-load once enough orders are acknowledged (a slow machine acknowledges fewer per second).
  const deadline = Date.now() + 20_000;
  await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
  while (acked <= 60 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  first.child.kill('SIGKILL');
  killed = true;
  const acks = await loading;
  await exited(first.child);
  expect(acks.length).toBeGreaterThan(50);

  const second = await startServer(env);
  try {
    const pool = new Pool(second.url, { connections: 8 });
    const missing: number[] = [];
    for (const ack of acks) {
      let res = await pool.request({ path: `/api/orders/${ack.id}`, method: 'GET', headers: { authorization: `Bearer ${DEMO}` } });
      // A 503 says "not now" (still starting): ask again as it says, it does not mean the order is gone.
      for (let attempt = 0; res.statusCode === 503 && attempt < 20; attempt++) {
        await res.body.dump();
        await new Promise((resolve) => setTimeout(resolve, 250));
        res = await pool.request({ path: `/api/orders/${ack.id}`, method: 'GET', headers: { authorization: `Bearer ${DEMO}` } });
      }
      const text = await res.body.text();
      if (res.statusCode !== 200 || (JSON.parse(text) as Ack).filledQuantity < ack.filledQuantity) missing.push(ack.id);
    }
    await pool.destroy();
    expect(missing).toEqual([]);
  } finally {
    second.child.kill('SIGTERM');
    await exited(second.child);
  }
  const reconciled = await runCli(['reconcile'], env);
  expect(reconciled.output).toContain('reconcile: ok');
  expect(reconciled.code).toBe(0);
}

const withServer = await pgAvailable();
// No load shedding: on a shared 2-core machine a stall is not overload, and this test is about durability.
const base = { TACHYON_DEMO_TOKEN: DEMO, TACHYON_ADMIN_TOKEN: ADMIN, TACHYON_TICK_RATE: '2000', TACHYON_RATE_LIMIT: '0', TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0' };

// Two server starts (up to 150 s each on a loaded machine, see startServer), the load and a reconcile.
const TIMEOUT_MS = 360_000;

describe('SIGKILL under load', () => {
  it('loses no acknowledged order on PGlite and reconciles', { timeout: TIMEOUT_MS }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyon-sigkill-'));
    try {
      await killMidLoadAndVerify({ ...base, TACHYON_DATA_DIR: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(withServer)('loses no acknowledged order on the PostgreSQL server and reconciles', { timeout: TIMEOUT_MS }, async () => {
    const temp = await createTempDatabase('sigkill');
    try {
      await killMidLoadAndVerify({ ...base, DATABASE_URL: temp.url });
    } finally {
      await temp.drop();
    }
  });
});
