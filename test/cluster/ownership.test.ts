/**
 * Account ownership across real processes: two or three `tachyon start` instances on one fresh
 * PostgreSQL database and one Redis. One account, orders spread over every instance: one writer
 * (the shard's lease holder) serves them all, the others forward; a paused former owner commits
 * nothing once another instance took its shard (the fence).
 */
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from '../../src/trading/ids.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, redisAvailable, redisPrefix, REDIS_TEST_URL, type TempDatabase } from '../support/servers.ts';
import { exited, runCli, startServer, type ServerProcess } from '../trading/server-process.ts';

const DEMO = 'cluster-demo-token-0123456789';
const ADMIN = 'cluster-admin-token-0123456789';
// Generous: the machine running the suite is shared, and a lease must outlive a busy event loop.
const LEASE_TTL_MS = 5_000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function call(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, token: string, body?: unknown, timeoutMs = 60_000): Promise<Answer> {
  const res = await request(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

/** Places an order, retrying a 503 (ownership moving, owner not answering) with the same clientOrderId, as a client should. */
async function placeRetrying(base: string, token: string, order: Record<string, unknown>): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await call(base, 'POST', '/api/orders', token, order);
    if (answer.status !== 503 || attempt === 30) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

class Cluster {
  readonly instances: ServerProcess[] = [];
  private constructor(
    readonly env: Record<string, string>,
    private readonly temp: TempDatabase,
    readonly db: pg.Client,
    private readonly prefix: string,
  ) {}

  static async start(size: number, label: string): Promise<Cluster> {
    const temp = await createTempDatabase(label);
    const prefix = redisPrefix(label);
    const env = {
      DATABASE_URL: temp.url,
      REDIS_URL: REDIS_TEST_URL,
      TACHYON_BUS_CHANNEL: `${prefix}bus`,
      TACHYON_CACHE_PREFIX: `${prefix}cache`,
      TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
      TACHYON_DEMO_TOKEN: DEMO,
      TACHYON_ADMIN_TOKEN: ADMIN,
      TACHYON_INSTRUMENTS: '20',
      TACHYON_TICK_RATE: '200',
      TACHYON_RATE_LIMIT: '0',
      TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000',
      TACHYON_LEASE_TTL_MS: String(LEASE_TTL_MS),
      TACHYON_FORWARD_TIMEOUT_MS: '5000',
    };
    // A client, not a pool: pg-pool's end() resolves before its connections close, and the DROP … WITH
    // (FORCE) that follows then terminates one; its FATAL message reached the pool, which has no listener,
    // as an uncaught exception after every test had passed (CI, session 12). A client's end() waits.
    const db = new pg.Client({ connectionString: temp.url });
    await db.connect();
    const cluster = new Cluster(env, temp, db, prefix);
    // One after another: the first creates the schema and the demo users.
    for (let i = 0; i < size; i++) cluster.instances.push(await startServer(env));
    return cluster;
  }

  get urls(): string[] {
    return this.instances.map((i) => i.url);
  }

  async trader(openingCash: number): Promise<{ token: string; accountId: number }> {
    const created = await call(this.urls[0]!, 'POST', '/api/admin/users', ADMIN, { name: `t${Date.now()}${Math.random().toString(36).slice(2, 6)}`, role: 'trader', openingCash });
    expect(created.status).toBe(201);
    return { token: created.body.token as string, accountId: created.body.accountId as number };
  }

  /** The index of the instance holding the account's shard, as an instance (a live one, `via`) reports it. */
  async owner(accountId: number, via = 0): Promise<number> {
    const answer = await call(this.urls[via]!, 'GET', `/api/admin/cluster/accounts/${accountId}/owner`, ADMIN);
    const lease = answer.body.lease as { address: string | null } | null;
    return this.urls.indexOf(lease?.address ?? '');
  }

  async count(sql: string, params: unknown[]): Promise<number> {
    return Number((await this.db.query<{ n: string }>(sql, params)).rows[0]!.n);
  }

  async reconcile(): Promise<{ code: number | null; output: string }> {
    return runCli(['reconcile'], this.env);
  }

  async stop(): Promise<void> {
    for (const instance of this.instances) {
      if (instance.child.signalCode === null && instance.child.exitCode === null) {
        instance.child.kill('SIGCONT');
        instance.child.kill('SIGTERM');
      }
    }
    await Promise.all(this.instances.map((i) => exited(i.child)));
    await this.db.end();
    await this.temp.drop();
    await deleteRedisKeys(this.prefix);
  }
}

const withServers = (await pgAvailable()) && (await redisAvailable());

describe.runIf(withServers).each([2, 3])('%i instances on one database', (size) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start(size, `own${size}`);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('300 concurrent orders on one account spread over every instance: never overspends, each acknowledged order stored once, reconcile clean', { timeout: 120_000 }, async () => {
    const { token, accountId } = await cluster.trader(20_000);
    const orders = Array.from({ length: 300 }, (_, i) => ({ symbol: i % 2 ? 'AAPL' : 'MSFT', side: 'buy', type: 'market', quantity: 1 + (i % 3), clientOrderId: `c${i}` }));
    const answers = await Promise.all(orders.map((order, i) => placeRetrying(cluster.urls[i % size]!, token, order)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 201 && s !== 422)).toEqual([]);
    const acked = answers.filter((a) => a.status === 201).map((a) => a.body as { id: number; clientOrderId: string });
    // 20,000 buys about 60 shares: most orders are refused for buying power, none overspends.
    expect(acked.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s === 422).length).toBeGreaterThan(10);
    expect(await cluster.count('SELECT count(*) AS n FROM accounts WHERE id = $1 AND cash < 0', [accountId])).toBe(0);
    for (const order of acked) {
      expect(await cluster.count('SELECT count(*) AS n FROM trading_orders WHERE id = $1 AND account_id = $2 AND client_order_id = $3', [order.id, accountId, order.clientOrderId])).toBe(1);
    }
    expect(await cluster.count('SELECT count(*) AS n FROM trading_orders WHERE account_id = $1', [accountId])).toBe(300);
    const portfolio = await call(cluster.urls[size - 1]!, 'GET', '/api/portfolio', token);
    expect(portfolio.status).toBe(200);
    expect(portfolio.body.cash).toBeGreaterThanOrEqual(0);
    const reconciled = await cluster.reconcile();
    expect(reconciled.output).toContain('reconcile: ok');
    expect(reconciled.code).toBe(0);
  });

  it('the same clientOrderId sent to every instance at once: one order, every answer is that order', { timeout: 120_000 }, async () => {
    const { token, accountId } = await cluster.trader(100_000);
    for (let round = 0; round < 5; round++) {
      const order = { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1, clientOrderId: `same-${round}` };
      const answers = await Promise.all(cluster.urls.flatMap((url) => [call(url, 'POST', '/api/orders', token, order), call(url, 'POST', '/api/orders', token, order)]));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      expect(await cluster.count('SELECT count(*) AS n FROM trading_orders WHERE account_id = $1 AND client_order_id = $2', [accountId, order.clientOrderId])).toBe(1);
    }
  });

  it('a resting limit order is worked by its owner alone (filled once), and a cancel through one instance is seen on every other', { timeout: 150_000 }, async () => {
    const { token, accountId } = await cluster.trader(100_000);
    const owner = await cluster.owner(accountId);
    expect(owner).toBeGreaterThanOrEqual(0);
    const quote = (await call(cluster.urls[owner]!, 'GET', '/api/market-data/quotes/MSFT', token)).body as { bid: number; ask: number };
    // Between bid and ask: it rests, and fills once the ask comes down to it (half a spread, not a whole
    // one: a random walk crosses that within seconds). Placed through a non-owner.
    const limitPrice = Math.max(quote.bid, Math.floor(((quote.bid + quote.ask) / 2) * 100) / 100);
    const other = (owner + 1) % size;
    const resting = await placeRetrying(cluster.urls[other]!, token, { symbol: 'MSFT', side: 'buy', type: 'limit', limitPrice, quantity: 1, timeInForce: 'gtc' });
    expect(resting.status).toBe(201);
    const id = resting.body.id as number;
    // The fill depends on the simulated walk: wait up to 45 s for it, then check what matters either way —
    // one execution if it filled, none if it still rests, and every instance saying the same.
    const deadline = Date.now() + 45_000;
    let status = '';
    while (Date.now() < deadline && (status = (await call(cluster.urls[other]!, 'GET', `/api/orders/${id}`, token)).body.status as string) !== 'filled') {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    status = (await call(cluster.urls[other]!, 'GET', `/api/orders/${id}`, token)).body.status as string;
    expect(['filled', 'accepted']).toContain(status);
    expect(await cluster.count('SELECT count(*) AS n FROM trading_executions WHERE order_id = $1', [id])).toBe(status === 'filled' ? 1 : 0);
    for (const url of cluster.urls) expect((await call(url, 'GET', `/api/orders/${id}`, token)).body.status).toBe(status);
    if (status !== 'filled') expect((await call(cluster.urls[owner]!, 'DELETE', `/api/orders/${id}`, token)).status).toBe(200);

    // Far below the market: it rests until cancelled. Cancel through one instance, read through every other.
    const far = await placeRetrying(cluster.urls[owner]!, token, { symbol: 'MSFT', side: 'buy', type: 'limit', limitPrice: Math.round(quote.bid * 0.95), quantity: 5, timeInForce: 'gtc' });
    expect(far.status).toBe(201);
    const farId = far.body.id as number;
    expect((await call(cluster.urls[other]!, 'DELETE', `/api/orders/${farId}`, token)).status).toBe(200);
    for (const url of cluster.urls) {
      expect((await call(url, 'GET', `/api/orders/${farId}`, token)).body.status).toBe('cancelled');
      expect((await call(url, 'GET', '/api/portfolio', token)).body.reservedCash).toBe(0);
      expect((await call(url, 'DELETE', `/api/orders/${farId}`, token)).status).toBe(409);
    }
  });

  it('SIGTERM hands the stopping owner\'s leases back after its last commit: another instance serves its accounts without waiting for expiry', { timeout: 120_000 }, async () => {
    const { token, accountId } = await cluster.trader(100_000);
    const ownerIndex = await cluster.owner(accountId);
    const owner = cluster.instances[ownerIndex]!;
    const survivor = cluster.urls[(ownerIndex + 1) % size]!;
    const acked = await placeRetrying(owner.url, token, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1, clientOrderId: 'before-stop' });
    expect(acked.status).toBe(201);
    owner.child.kill('SIGTERM');
    await exited(owner.child);
    // Every lease it held has lapsed already (released), not merely stopped being renewed.
    expect(await cluster.count(`SELECT count(*) AS n FROM cluster_leases WHERE address = $1 AND expires_at > now()`, [owner.url])).toBe(0);
    const after = await placeRetrying(survivor, token, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1, clientOrderId: 'after-stop' });
    expect(after.status).toBe(201);
    expect((await call(survivor, 'GET', '/api/portfolio', token)).body.positions).toMatchObject([{ symbol: 'AAPL', quantity: 2 }]);
    const reconciled = await cluster.reconcile();
    expect(reconciled.code).toBe(0);
  });
});

describe.runIf(withServers)('a stale owner', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start(2, 'stale');
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('paused under load until another instance takes its account: once resumed it commits nothing for that account; reconcile is clean', { timeout: 180_000 }, async () => {
    const { token, accountId } = await cluster.trader(1_000_000);
    const ownerIndex = await cluster.owner(accountId);
    expect(ownerIndex).toBeGreaterThanOrEqual(0);
    const owner = cluster.instances[ownerIndex]!;
    const survivor = cluster.urls[1 - ownerIndex]!;
    let n = 0;
    const order = () => ({ symbol: n % 2 ? 'AAPL' : 'MSFT', side: 'buy', type: 'market', quantity: 1, clientOrderId: `s${n++}` });

    // Load on the owner; its ids (blocks of BLOCK_SIZE per instance) tell its rows apart.
    const before = await Promise.all(Array.from({ length: 40 }, () => call(owner.url, 'POST', '/api/orders', token, order())));
    const ownerBlocks = new Set(before.filter((a) => a.status === 201).map((a) => Math.floor((a.body.id as number) / BLOCK_SIZE)));
    expect(ownerBlocks.size).toBeGreaterThan(0);

    // More commands in flight to the owner as it stops: they wake with it, against state it no longer owns.
    const inFlight = Array.from({ length: 40 }, () => call(owner.url, 'POST', '/api/orders', token, order(), 120_000).catch(() => undefined));
    owner.child.kill('SIGSTOP');

    // The survivor takes the account once the lease lapses, and trades it.
    const taken = await placeRetrying(survivor, token, order());
    expect(taken.status).toBe(201);
    expect(await cluster.owner(accountId, 1 - ownerIndex)).toBe(1 - ownerIndex);
    const { rows } = await cluster.db.query<{ now: Date }>('SELECT now()');
    const takenAt = rows[0]!.now;
    const during = await Promise.all(Array.from({ length: 20 }, () => placeRetrying(survivor, token, order())));
    expect(during.every((a) => a.status === 201)).toBe(true);

    owner.child.kill('SIGCONT');
    await Promise.all(inFlight);
    // Its next renewal finds the shard gone; let its timers and journal run.
    await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_TTL_MS));

    const written = await cluster.count(
      `SELECT count(*) AS n FROM (SELECT id, created_at AS at FROM trading_orders WHERE account_id = $1 UNION ALL SELECT id, ts FROM trading_executions WHERE account_id = $1) r
        WHERE at >= $2 AND (id / ${BLOCK_SIZE})::int8 = ANY($3::int8[])`,
      [accountId, takenAt, [...ownerBlocks]],
    );
    expect(written).toBe(0);
    // The resumed instance still serves the account, by forwarding it to the new owner.
    const after = await placeRetrying(owner.url, token, order());
    expect(after.status).toBe(201);
    expect(Math.floor((after.body.id as number) / BLOCK_SIZE)).not.toSatisfy((block: number) => ownerBlocks.has(block));
    const reconciled = await cluster.reconcile();
    expect(reconciled.output).toContain('reconcile: ok');
    expect(reconciled.code).toBe(0);
  });
});
