/**
 * The clean-up order the multi-process suites rely on. A temporary database is dropped WITH (FORCE),
 * which terminates every backend still connected: a test's own connection must be gone by then, or its
 * FATAL "terminating connection due to administrator command" reaches a handle nobody listens to and
 * surfaces as an uncaught exception after the tests passed (test/cluster/ownership.test.ts on CI,
 * session 12). pg-pool's end() resolves before its connections close; a client's end() waits for its socket
 * to close, and PostgreSQL keeps a backend's socket open until the process has exited, so that a client can.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDatabase, PG_ADMIN_URL, pgAvailable, type TempDatabase } from '../support/servers.ts';

describe.runIf(await pgAvailable())('closing a test\'s own connection before its database is dropped', () => {
  let temp: TempDatabase;
  let admin: pg.Client;
  let proxy: net.Server;
  let proxied: string;
  // What the test's connection sends can be held here: the backend then never reads its Terminate.
  const fromClients = new Set<net.Socket>();

  beforeAll(async () => {
    temp = await createTempDatabase('cleanup');
    admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    const target = new URL(temp.url);
    // Half-open both ways: each side's FIN reaches the other only through the pipe. Otherwise the proxy
    // answers the client's FIN itself, and the client's end() resolves while the backend still runs.
    proxy = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ port: Number(target.port), host: target.hostname, allowHalfOpen: true });
      fromClients.add(client);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = new URL(temp.url);
    url.port = String((proxy.address() as net.AddressInfo).port);
    proxied = url.toString();
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
    await admin?.end();
    await temp?.drop();
  });

  const name = () => new URL(temp.url).pathname.slice(1);
  const backends = async () => Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name()])).rows[0]!.n);
  const hold = () => fromClients.forEach((socket) => socket.pause());
  const release = () => {
    fromClients.forEach((socket) => socket.resume());
    fromClients.clear();
  };

  it('pg-pool\'s end() resolves while its backend is still connected', async () => {
    const pool = new pg.Pool({ connectionString: proxied, max: 1 });
    const errors: Error[] = [];
    pool.on('error', (error) => errors.push(error));
    await pool.query('SELECT 1');
    hold();
    await pool.end();
    expect(await backends()).toBe(1);
    // What the DROP … WITH (FORCE) does to it, on a database of its own here: the pool hears a FATAL.
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name()]);
    // Held, the backend cannot read the Terminate first: it ends by the signal, sending its FATAL.
    await expect.poll(backends, { timeout: 30_000 }).toBe(0);
    release();
    await expect.poll(() => errors.map((e) => e.message), { timeout: 30_000 }).toEqual(['terminating connection due to administrator command']);
  });

  it('a client\'s end() resolves only once its backend has gone', async () => {
    const client = new pg.Client({ connectionString: proxied });
    await client.connect();
    await client.query('SELECT 1');
    hold();
    let ended = false;
    const ending = client.end().then(() => (ended = true));
    expect(await backends()).toBe(1);
    expect(ended).toBe(false);
    release();
    await ending;
    expect(await backends()).toBe(0);
  });
});
