/**
 * The load generator's HTTP/1.1 client against real local servers: node:http for well-formed traffic,
 * raw TCP servers for the framings and failures node:http would not produce on demand.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransport, createHttpClient } from '../../src/loadtest/http-client.ts';
import type { HttpClient } from '../../src/loadtest/http-client.ts';
import { DEFAULT_GUARDRAILS } from '../../src/loadtest/guardrails.ts';
import { MetricsRegistry, epochNowMs } from '../../src/loadtest/metrics.ts';
import { ResponseParser, parseHeaders } from '../../src/loadtest/http1/response-parser.ts';
import type { ResponseHeaders } from '../../src/loadtest/http1/response-parser.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started { url: string; connections: () => number }

async function listen(server: HttpServer | NetServer): Promise<Started> {
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

/** A TCP server that answers every complete request head with `reply(n, socket)` (n counts from 1 per socket). */
function rawServer(reply: (n: number, socket: Socket, head: string) => void): Promise<Started> {
  return listen(createNetServer((socket) => {
    let buffered = '';
    let n = 0;
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        reply(++n, socket, head);
      }
    });
    socket.on('error', () => undefined);
  }));
}

function client(url: string, connections = 4, signal = new AbortController().signal): { http: HttpClient; metrics: MetricsRegistry } {
  const transport = new HttpTransport(connections);
  cleanups.push(() => transport.close());
  const metrics = new MetricsRegistry(epochNowMs());
  const http = createHttpClient({ transport, metrics, base: new URL(url), guardrails: DEFAULT_GUARDRAILS, baseTags: {}, lag: { lagMs: 0 }, signal });
  return { http, metrics };
}

describe('load-test HTTP/1.1 client', () => {
  it('reads content-length bodies and reuses one keep-alive connection for sequential requests', async () => {
    const seen: Array<{ method?: string; url?: string; host?: string; type?: string; body: string }> = [];
    const server = await listen(createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, host: req.headers.host, type: req.headers['content-type'], body });
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': 12 });
        res.end('{"héllo":1}');
      });
    }));
    const { http } = client(server.url);
    const first = await http.get('/q?x=1');
    const second = await http.post('/orders', { qty: 5 });
    const third = await http.put('/raw', 'plain text', { headers: { 'X-Trace': 'abc' } });
    for (const r of [first, second, third]) {
      expect(r.status).toBe(201);
      expect(r.json()).toEqual({ héllo: 1 });
    }
    expect(first.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(first.headers['content-type']).toBe('application/json');
    expect(seen).toEqual([
      { method: 'GET', url: '/q?x=1', host: server.url.slice('http://'.length), type: undefined, body: '' },
      { method: 'POST', url: '/orders', host: server.url.slice('http://'.length), type: 'application/json', body: '{"qty":5}' },
      { method: 'PUT', url: '/raw', host: server.url.slice('http://'.length), type: undefined, body: 'plain text' },
    ]);
    expect(server.connections()).toBe(1);
  });

  it('decodes chunked bodies written in several pieces, and HEAD responses without a body', async () => {
    const server = await listen(createServer((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': '5' }).end();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one,');
      setImmediate(() => {
        res.write('two,');
        setImmediate(() => res.end('three'));
      });
    }));
    const { http } = client(server.url);
    const chunked = await http.get('/stream');
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.body).toBe('one,two,three');
    const head = await http.request('HEAD', '/stream');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await http.get('/stream')).body).toBe('one,two,three');
    expect(server.connections()).toBe(1);
  });

  it('reads a body delimited by the connection close, and opens a new connection after "connection: close"', async () => {
    const server = await rawServer((n, socket, head) => {
      if (head.startsWith('GET /eof')) {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ');
        setImmediate(() => socket.end('the end'));
      } else socket.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok', () => socket.end());
    });
    const { http } = client(server.url, 1);
    expect((await http.get('/eof')).body).toBe('until the end');
    expect((await http.get('/close')).body).toBe('ok');
    expect((await http.get('/close')).body).toBe('ok');
    expect(server.connections()).toBe(3);
  });

  it('skips informational responses before the final one', async () => {
    const server = await rawServer((_n, socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes'));
    const { http } = client(server.url);
    const r = await http.get('/');
    expect([r.status, r.body]).toEqual([200, 'yes']);
  });

  it('fails a request with no response within its timeout (status 0), and the connection is not reused', async () => {
    const server = await rawServer((_n, socket, head) => {
      if (!head.startsWith('GET /hang')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    });
    const { http, metrics } = client(server.url, 1);
    const r = await http.get('/hang', { timeoutMs: 100 });
    expect(r.status).toBe(0);
    expect(r.error).toMatch(/no response within 100 ms/);
    expect((await http.get('/ok')).status).toBe(200);
    expect(server.connections()).toBe(2);
    const failed = metrics.select('http_req_failed');
    expect(failed.map((s) => s.tags.status).sort()).toEqual(['0', '200']);
  });

  it('reports refused connections, resets mid-body and malformed responses as failed requests (status 0)', async () => {
    const refused = await rawServer(() => undefined);
    const refusedUrl = refused.url;
    await cleanups.pop()!(); // closed: nothing listens on that port any more
    expect((await client(refusedUrl).http.get('/')).error).toMatch(/ECONNREFUSED/);

    const server = await rawServer((_n, socket, head) => {
      if (head.startsWith('GET /cut')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial', () => socket.destroy());
      else if (head.startsWith('GET /chunks')) socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n');
      else socket.write('garbage\r\n\r\n');
    });
    const { http } = client(server.url);
    const cut = await http.get('/cut');
    expect([cut.status, cut.error]).toEqual([0, expect.stringMatching(/closed before the response ended|ECONNRESET/)]);
    const chunks = await http.get('/chunks');
    expect([chunks.status, chunks.error]).toEqual([0, expect.stringMatching(/invalid chunk size/)]);
    const garbage = await http.get('/garbage');
    expect([garbage.status, garbage.error]).toEqual([0, expect.stringMatching(/malformed status line/)]);
  });

  it('sends a GET again on a new connection when a reused keep-alive one closes unanswered; a POST is not resent', async () => {
    // Each socket answers its first request and drops on its second: a server closing an idle keep-alive
    // socket just as the client reuses it.
    const server = await rawServer((n, socket) => {
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      else socket.destroy();
    });
    const { http } = client(server.url, 1);
    expect((await http.get('/')).status).toBe(200);
    expect((await http.get('/')).status).toBe(200); // dropped on socket 1, answered on socket 2
    expect(server.connections()).toBe(2);
    const post = await http.post('/', { a: 1 }); // dropped on socket 2: not idempotent, so it fails
    expect(post.status).toBe(0);
    expect(server.connections()).toBe(2);
  });

  it('queues requests beyond the pool size and answers them all on that many connections', async () => {
    const server = await listen(createServer((req, res) => res.end(req.url)));
    const { http } = client(server.url, 2);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => http.get(`/${i}`)));
    expect(results.map((r) => r.body)).toEqual(Array.from({ length: 20 }, (_, i) => `/${i}`));
    expect(server.connections()).toBe(2);
  });

  it('aborts in-flight and queued requests when the run\'s signal fires', async () => {
    const server = await rawServer(() => undefined); // never answers
    const controller = new AbortController();
    const { http } = client(server.url, 1, controller.signal);
    const pending = [http.get('/a'), http.get('/b')];
    // The first request is written once its socket connects; abort after the server has seen it.
    await new Promise<void>((resolve) => {
      const poll = (): void => void (server.connections() > 0 ? resolve() : setImmediate(poll));
      poll();
    });
    controller.abort(new Error('run cancelled'));
    const results = await Promise.all(pending);
    expect(results.map((r) => [r.status, r.error])).toEqual([[0, 'run cancelled'], [0, 'run cancelled']]);
  });

  it('refuses header values that would split the request head', async () => {
    const server = await listen(createServer((_req, res) => res.end()));
    const { http } = client(server.url);
    const r = await http.get('/', { headers: { 'x-evil': 'a\r\nx-injected: 1' } });
    expect([r.status, r.error]).toEqual([0, 'invalid header "x-evil"']);
    expect(server.connections()).toBe(0);
  });
});

describe('load-test HTTP client over TLS', () => {
  it('speaks https through tls and verifies the certificate: a self-signed one fails the request (status 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadtest-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    let handshakes = 0;
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secret'));
    server.on('secureConnection', () => handshakes++);
    const { url } = await listen(server);
    const { http } = client(url.replace('http:', 'https:'));
    const r = await http.get('/');
    expect(r.status).toBe(0);
    expect(r.error).toMatch(/self[- ]signed certificate/);
    expect(handshakes).toBe(0);
  });
});

describe('HTTP/1.1 response parser', () => {
  const responses = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n',
    'HTTP/1.1 204 No Content\r\n\r\n',
    'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi',
  ];
  const expected = [
    { status: 200, headers: { 'content-length': '5', 'x-a': ['1', '2'] }, body: 'hello', keepAlive: true },
    { status: 200, headers: { 'transfer-encoding': 'chunked' }, body: 'Wikipedia in\r\n\r\nchunks.', keepAlive: true },
    { status: 204, headers: {}, body: '', keepAlive: true },
    { status: 200, headers: { 'content-length': '2' }, body: 'hi', keepAlive: false },
  ];

  function parse(wire: string, split: number): { status: number; headers: ResponseHeaders; body: string; keepAlive: boolean } {
    const out = { status: 0, headers: {} as ResponseHeaders, body: '', keepAlive: false, ends: 0 };
    const parser = new ResponseParser({
      onHead: (status, head) => Object.assign(out, { status, headers: parseHeaders(head) }),
      onBody: (chunk) => void (out.body += chunk.toString('latin1')),
      onEnd: (keepAlive) => Object.assign(out, { keepAlive, ends: out.ends + 1 }),
    });
    parser.expect(false);
    const bytes = Buffer.from(wire, 'latin1');
    for (let at = 0; at < bytes.length; at += split) parser.feed(bytes.subarray(at, at + split));
    expect(out.ends).toBe(1);
    const { ends: _ends, ...result } = out;
    return result;
  }

  it('gives the same response whatever the split of its bytes across reads', () => {
    responses.forEach((wire, i) => {
      for (const split of [1, 2, 3, 7, 1000]) expect(parse(wire, split), `response ${i} split ${split}`).toEqual(expected[i]);
    });
  });
});
