/**
 * The load generator's HTTP/1.1 client: per origin, up to `connections` keep-alive sockets (net, or tls
 * for https), each carrying one request at a time; requests wait in FIFO order for a free socket.
 *
 * Hand-written rather than undici because the generator's CPU per request caps its rate on shared cores
 * (bench:loadgen, 50 connections against a bare node:http server, same run): with undici's `dispatch`
 * the engine ran at 0.56× autocannon (46 µs of generator CPU per request against 22-24 µs). Smoke runs on a
 * loaded machine, same rounds: this client 0.85-1.24× autocannon's CPU per request, undici 1.19-1.78×
 * (docs/benchmarks.md, session 7). What it saves: request bytes built once per
 * template, one write per request, a response parser that only frames, no per-request timer (a socket's
 * idle timeout is the request timeout) and no abort listener per request.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { RequestTemplates } from './request-bytes.ts';
import { HttpParseError, ResponseParser } from './response-parser.ts';
import type { ResponseSink } from './response-parser.ts';

export interface Http1Response {
  status: number;
  /** Header lines as received (see parseHeaders). */
  head: string;
  /** Empty when the body was discarded. */
  body: string;
}

/** Idempotent methods may be sent again on a fresh socket when a reused one turns out closed (below). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class HttpTimeoutError extends Error {
  override readonly name = 'HttpTimeoutError';
}

/** One request from being queued to its settlement; `owner` holds the unsettled ones (for aborts). */
export class Exchange {
  conn: Connection | undefined;
  settled = false;
  retried = false;
  status = 0;
  head = '';
  chunks: Buffer[] | undefined;
  constructor(
    readonly bytes: Buffer,
    readonly method: string,
    readonly timeoutMs: number,
    readonly discardBody: boolean,
    private readonly owner: Set<Exchange>,
    private readonly resolve: (r: Http1Response) => void,
    private readonly reject: (e: Error) => void,
  ) {
    owner.add(this);
  }

  succeed(): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.delete(this);
    const chunks = this.chunks;
    const body = !chunks || chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.resolve({ status: this.status, head: this.head, body });
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.delete(this);
    this.reject(error);
  }

  /** Ends the exchange at once: a queued one leaves the queue, a sent one takes its socket down with it. */
  abort(error: Error): void {
    const conn = this.conn;
    this.fail(error);
    conn?.destroy();
  }
}

class Connection implements ResponseSink {
  private readonly socket: Socket;
  private readonly parser = new ResponseParser(this);
  private current: Exchange | undefined;
  private error: Error | undefined;
  private timeoutMs = -1;
  /** Responses completed on this socket: a failure on a reused socket before any byte may be a stale keep-alive. */
  private served = 0;
  private received = false;
  closed = false;

  constructor(private readonly pool: OriginPool) {
    const { hostname, port, tls } = pool;
    this.socket = tls
      ? tlsConnect({ host: hostname, port, servername: isIp(hostname) ? undefined : hostname, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host: hostname, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('error', (error: Error) => void (this.error ??= error));
    this.socket.on('timeout', () => this.onTimeout());
    this.socket.on('close', () => this.onClose());
  }

  send(exchange: Exchange): void {
    this.current = exchange;
    exchange.conn = this;
    this.received = false;
    this.parser.expect(exchange.method === 'HEAD', exchange.discardBody);
    if (exchange.timeoutMs !== this.timeoutMs) {
      this.timeoutMs = exchange.timeoutMs;
      this.socket.setTimeout(exchange.timeoutMs);
    }
    this.socket.write(exchange.bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  onHead(status: number, head: string): void {
    const exchange = this.current!;
    exchange.status = status;
    exchange.head = head;
    if (!exchange.discardBody) exchange.chunks = [];
  }

  onBody(chunk: Buffer): void {
    this.current!.chunks!.push(chunk);
  }

  onEnd(keepAlive: boolean): void {
    const exchange = this.current!;
    this.current = undefined;
    exchange.conn = undefined;
    this.served++;
    if (keepAlive && !this.closed) this.pool.release(this);
    else this.destroy();
    exchange.succeed();
  }

  private onData(data: Buffer): void {
    this.received = true;
    if (this.current?.settled) return this.destroy(); // aborted: its socket is going down
    try {
      this.parser.feed(data);
    } catch (error) {
      this.error = error instanceof HttpParseError ? error : new HttpParseError(String(error));
      this.destroy();
    }
  }

  private onTimeout(): void {
    if (!this.current) return; // an idle keep-alive socket: the server decides when to close it
    this.error = new HttpTimeoutError(`no response within ${this.timeoutMs} ms`);
    this.destroy();
  }

  private onClose(): void {
    this.closed = true;
    if (this.parser.endsAtClose && !this.error) this.parser.finish();
    const exchange = this.current;
    this.current = undefined;
    this.pool.remove(this);
    if (!exchange || exchange.settled) return;
    exchange.conn = undefined;
    // A keep-alive socket the server closed as we wrote to it: nothing of this request was answered,
    // so an idempotent one is sent once more on a new socket (as undici and browsers do).
    if (this.served > 0 && !this.received && !(this.error instanceof HttpTimeoutError) && !exchange.retried && IDEMPOTENT.has(exchange.method)) {
      exchange.retried = true;
      this.pool.dispatch(exchange);
      return;
    }
    exchange.fail(this.error ?? new Error(this.received ? 'connection closed before the response ended' : 'connection closed before a response'));
  }
}

/** Keep-alive sockets to one origin. */
export class OriginPool {
  readonly hostname: string;
  readonly port: number;
  readonly tls: boolean;
  readonly templates: RequestTemplates;
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private readonly queue: Exchange[] = [];
  private closing = false;

  constructor(origin: URL, private readonly maxConnections: number) {
    this.tls = origin.protocol === 'https:';
    if (!this.tls && origin.protocol !== 'http:') throw new TypeError(`unsupported protocol ${origin.protocol} (http: or https:)`);
    // URL keeps IPv6 literals bracketed; sockets want them bare.
    this.hostname = origin.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = origin.port ? Number(origin.port) : this.tls ? 443 : 80;
    this.templates = new RequestTemplates(origin.host);
  }

  dispatch(exchange: Exchange): void {
    if (this.closing) return exchange.fail(new Error('client closed'));
    const conn = this.idle.pop();
    if (conn) return conn.send(exchange);
    if (this.open.size < this.maxConnections) return this.connect().send(exchange);
    this.queue.push(exchange);
  }

  release(conn: Connection): void {
    const next = this.nextQueued();
    if (next) conn.send(next);
    else this.idle.push(conn);
  }

  remove(conn: Connection): void {
    this.open.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // Queued requests must not wait for a socket that will never come back.
    const next = this.closing ? undefined : this.nextQueued();
    if (next) this.connect().send(next);
  }

  close(): void {
    this.closing = true;
    for (const exchange of this.queue.splice(0)) exchange.fail(new Error('client closed'));
    for (const conn of this.open) conn.destroy();
  }

  private connect(): Connection {
    const conn = new Connection(this);
    this.open.add(conn);
    return conn;
  }

  private nextQueued(): Exchange | undefined {
    let next = this.queue.shift();
    while (next?.settled) next = this.queue.shift(); // aborted while waiting
    return next;
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
