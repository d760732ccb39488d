/**
 * WebSocket sessions for scenarios (on `ws`): connect, subscribe, await messages, and measure each
 * message's delivery latency from the platform's own send timestamp (`timestampOf`), which is what a
 * trading client feels (tick-to-client), rather than a request/response round trip.
 * Generator and platform share a host clock in our setups; across hosts the clocks must be synced.
 */
import WebSocket from 'ws';
import { unpack } from 'msgpackr';
import { assertHostAllowed } from './guardrails.ts';
import type { Guardrails } from './guardrails.ts';
import type { MetricsRegistry, Tags } from './metrics.ts';
import { epochNowMs } from './metrics.ts';

export interface WsConnectOptions {
  headers?: Record<string, string>;
  tags?: Tags;
  /** How frames become messages: JSON text (default), msgpack binary, raw text, or a custom decoder. */
  decode?: 'json' | 'msgpack' | 'text' | ((data: Buffer, isBinary: boolean) => unknown);
  /** Platform send time (epoch ms) of a message, when it carries one; feeds ws_msg_latency. */
  timestampOf?: (message: unknown) => number | undefined;
  connectTimeoutMs?: number;
}

export interface WsSession {
  send(data: string | Buffer | object): void;
  /** Resolves with the first message (received from now on) matching the predicate; rejects on timeout or close. */
  waitFor<T = unknown>(predicate: (message: unknown) => boolean, timeoutMs?: number): Promise<T>;
  onMessage(handler: (message: unknown) => void): void;
  readonly received: number;
  /** Resolves when the socket closes, from either side. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface WsConnector {
  connect(url: string, options?: WsConnectOptions): Promise<WsSession>;
}

export interface WsDeps {
  metrics: MetricsRegistry;
  base: URL;
  guardrails: Guardrails;
  baseTags: Tags;
  signal: AbortSignal;
  /** Sessions still open when the run ends are closed through this set. */
  open: Set<WebSocket>;
}

export function createWsConnector(deps: WsDeps): WsConnector {
  return {
    async connect(url, options = {}) {
      const resolved = new URL(url, deps.base);
      if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
      if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
      assertHostAllowed(deps.guardrails, resolved);
      const tags: Tags = { ...deps.baseTags, endpoint: resolved.pathname, ...options.tags };
      const start = performance.now();
      const socket = new WebSocket(resolved, { headers: options.headers, handshakeTimeout: options.connectTimeoutMs ?? 10_000 });
      const onAbort = (): void => void socket.emit('error', new Error('aborted'));
      deps.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('error', reject);
        });
      } catch (error) {
        deps.metrics.addRate('ws_connect_failed', tags, true);
        // Terminating a socket still connecting emits one more 'error' ("closed before the connection was
        // established"): the first one already settled this connect, so it must not become an uncaught exception.
        socket.on('error', () => undefined);
        socket.terminate();
        throw error;
      } finally {
        // One listener per connect on a run-wide signal: removed once connected, or sessions would pile them up.
        deps.signal.removeEventListener('abort', onAbort);
      }
      deps.metrics.addRate('ws_connect_failed', tags, false);
      deps.metrics.addTrend('ws_connecting', tags, performance.now() - start);
      deps.metrics.addCounter('ws_sessions', tags, 1);
      deps.open.add(socket);
      return new Session(socket, deps, tags, options);
    },
  };
}

class Session implements WsSession {
  received = 0;
  private readonly handlers = new Set<(message: unknown) => void>();
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: WsDeps,
    private readonly tags: Tags,
    private readonly options: WsConnectOptions,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => deps.metrics.addCounter('ws_errors', tags, 1));
    socket.on('close', () => deps.open.delete(socket));
    socket.on('message', (data, isBinary) => this.handle(data as Buffer, isBinary));
  }

  private handle(data: Buffer, isBinary: boolean): void {
    const at = epochNowMs();
    this.received++;
    let message: unknown;
    try {
      message = decodeFrame(this.options.decode ?? 'json', data, isBinary);
    } catch {
      this.deps.metrics.addCounter('ws_decode_errors', this.tags, 1, at);
      return;
    }
    this.deps.metrics.addCounter('ws_msgs_received', this.tags, 1, at);
    const sentAt = this.options.timestampOf?.(message);
    // Clock skew can make a latency slightly negative; clamp rather than drop so counts stay honest.
    if (typeof sentAt === 'number' && Number.isFinite(sentAt)) this.deps.metrics.addTrend('ws_msg_latency', this.tags, Math.max(0, at - sentAt), at);
    for (const handler of this.handlers) handler(message);
  }

  send(data: string | Buffer | object): void {
    this.socket.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data));
    this.deps.metrics.addCounter('ws_msgs_sent', this.tags, 1);
  }

  onMessage(handler: (message: unknown) => void): void {
    this.handlers.add(handler);
  }

  waitFor<T>(predicate: (message: unknown) => boolean, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.handlers.delete(handler);
        fn();
      };
      const handler = (message: unknown): void => {
        if (predicate(message)) done(() => resolve(message as T));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no matching WebSocket message within ${timeoutMs}ms`))), timeoutMs);
      this.handlers.add(handler);
      void this.closed.then(() => done(() => reject(new Error('WebSocket closed'))));
    });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.socket.close();
    return this.closed;
  }
}

function decodeFrame(decode: NonNullable<WsConnectOptions['decode']>, data: Buffer, isBinary: boolean): unknown {
  if (typeof decode === 'function') return decode(data, isBinary);
  if (decode === 'msgpack') return unpack(data);
  const text = data.toString('utf8');
  return decode === 'json' ? JSON.parse(text) : text;
}
