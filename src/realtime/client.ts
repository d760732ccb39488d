/**
 * A small typed client for /ws, used by the tests, the load tests and the dashboard. Browser-shaped:
 * it talks to anything with the WebSocket API (the browser's, or `ws` in Node passed as
 * `createSocket`), authenticates with the first message, and on an unexpected close reconnects with
 * exponential backoff and full jitter, then resubscribes: recoverable channels (orders, portfolio)
 * with the last offset and epoch received, so the server answers exactly the missed events (handed
 * to `onMessage` in order, as if they had arrived live) or, when that is impossible, a fresh
 * snapshot; other channels answer with a snapshot and its sequence. Frames are JSON text or MessagePack.
 */
import { pack, unpack } from 'msgpackr';
import {
  CloseCode,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
  type ChannelMessage,
  type ClientFrame,
  type ErrorFrame,
  type Format,
  type ServerFrame,
  type Subscription,
  type WelcomeFrame,
} from './protocol.ts';

/** The part of the WebSocket API the client uses (browser WebSocket and `ws` both have it). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface RealtimeClientOptions {
  url: string;
  token: string;
  format?: Format;
  /** Defaults to the global WebSocket (browsers, Node ≥ 22). */
  createSocket?: SocketFactory;
  /** `false` disables reconnection. */
  reconnect?: Partial<BackoffOptions> | false;
  onMessage?: (message: ChannelMessage) => void;
  /** A channel's snapshot, on subscribe and again after every reconnect that could not recover the channel. */
  onSnapshot?: (subscription: Subscription) => void;
  onError?: (error: ErrorFrame) => void;
  onStateChange?: (state: ClientState, detail?: { code: number; reason: string }) => void;
  /** Uniform in [0, 1): the jitter source (tests make it deterministic). */
  random?: () => number;
}

export interface SubscribeResult {
  subscriptions: Subscription[];
  errors: ErrorFrame[];
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, factor: 2 };
const OPEN = 1;
/** Close codes after which retrying cannot help. */
const FATAL = new Set<number>([CloseCode.UNAUTHORIZED, CloseCode.CONNECTION_LIMIT]);

/** Full jitter (AWS architecture blog): uniform in [0, min(max, initial·factor^attempt)). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  return Math.floor(random() * Math.min(options.maxMs, options.initialMs * options.factor ** attempt));
}

export class RealtimeClient {
  state: ClientState = 'closed';
  welcome: WelcomeFrame | undefined;
  private socket: WebSocketLike | undefined;
  private readonly format: Format;
  private readonly backoff: BackoffOptions | undefined;
  private readonly random: () => number;
  /** Channels as requested (aliases like `orders` included), resubscribed after a reconnect. */
  private readonly wanted = new Set<string>();
  private readonly seqs = new Map<string, number>();
  /** Recoverable channels: the last offset and epoch received, sent back as `recover` on resubscribe. */
  private readonly positions = new Map<string, { offset: number; epoch: string }>();
  private readonly waiting = new Map<number, { resolve: (r: SubscribeResult) => void; errors: ErrorFrame[] }>();
  private nextId = 1;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastFrameAt = 0;
  private opened: { resolve: (w: WelcomeFrame) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly options: RealtimeClientOptions) {
    this.format = options.format ?? 'json';
    this.backoff = options.reconnect === false ? undefined : { ...DEFAULT_BACKOFF, ...options.reconnect };
    this.random = options.random ?? Math.random;
  }

  /** Opens and authenticates; resolves with the welcome frame. Rejects if the first attempt fails. */
  connect(): Promise<WelcomeFrame> {
    return new Promise((resolve, reject) => {
      this.opened = { resolve, reject };
      this.open('connecting');
    });
  }

  /** Subscribes (and remembers the channels for reconnects); resolves when the server answered. */
  subscribe(channels: string[]): Promise<SubscribeResult> {
    for (const channel of channels) this.wanted.add(channel);
    return this.request('subscribe', channels);
  }

  unsubscribe(channels: string[]): Promise<SubscribeResult> {
    for (const channel of channels) this.wanted.delete(channel);
    return this.request('unsubscribe', channels);
  }

  /** The sequence of the last snapshot or message seen on a channel. */
  lastSeq(channel: string): number | undefined {
    return this.seqs.get(channel);
  }

  /** A recoverable channel's last offset and epoch received. */
  position(channel: string): { offset: number; epoch: string } | undefined {
    return this.positions.get(channel);
  }

  close(): void {
    this.wanted.clear();
    this.setState('closed');
    this.stopTimers();
    this.socket?.close(1000, 'client closed');
    this.socket = undefined;
  }

  private request(type: 'subscribe' | 'unsubscribe', channels: string[]): Promise<SubscribeResult> {
    if (this.state !== 'open') return Promise.resolve({ subscriptions: [], errors: [] }); // sent on (re)connect
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, errors: [] });
      this.send({ type, id, channels });
    });
  }

  private open(state: ClientState): void {
    this.setState(state);
    const create = this.options.createSocket ?? defaultSocketFactory;
    const socket = create(this.options.url, [this.format === 'msgpack' ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON]);
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => this.send({ type: 'auth', token: this.options.token });
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onerror = () => {}; // always followed by onclose, which decides
    socket.onclose = (event) => this.onClose(socket, event);
  }

  private onFrame(data: unknown): void {
    this.lastFrameAt = Date.now();
    let frame: ServerFrame;
    try {
      frame = (typeof data === 'string' ? JSON.parse(data) : unpack(new Uint8Array(data as ArrayBuffer))) as ServerFrame;
    } catch {
      return; // a server bug must not kill the client; the next frame may be fine
    }
    switch (frame.type) {
      case 'batch':
        for (const message of frame.messages) this.onChannelMessage(message);
        return;
      case 'welcome':
        return this.onWelcome(frame);
      case 'subscribed':
        for (const subscription of frame.subscriptions) {
          const { channel, offset, epoch } = subscription;
          this.seqs.set(channel, subscription.seq);
          if (offset !== undefined && epoch !== undefined) this.positions.set(channel, { offset, epoch });
          if (subscription.recovered) for (const message of (subscription.publications ?? []) as ChannelMessage[]) this.onChannelMessage(message);
          else this.options.onSnapshot?.(subscription);
        }
        return this.settle(frame.id, frame.subscriptions);
      case 'unsubscribed':
        for (const channel of frame.channels) {
          this.seqs.delete(channel);
          this.positions.delete(channel);
        }
        return this.settle(frame.id, []);
      case 'error': {
        const pending = frame.id === undefined ? undefined : this.waiting.get(frame.id);
        if (pending) pending.errors.push(frame);
        this.options.onError?.(frame);
        return;
      }
      case 'pong':
        return;
    }
  }

  private onChannelMessage(message: ChannelMessage): void {
    this.seqs.set(message.channel, message.seq);
    if (message.offset !== undefined && message.epoch !== undefined) this.positions.set(message.channel, { offset: message.offset, epoch: message.epoch });
    this.options.onMessage?.(message);
  }

  private onWelcome(welcome: WelcomeFrame): void {
    this.welcome = welcome;
    this.attempt = 0;
    this.setState('open');
    this.startHeartbeat(welcome.heartbeatMs, welcome.heartbeatTimeoutMs);
    if (this.wanted.size > 0) {
      const recover = this.positions.size > 0 ? Object.fromEntries(this.positions) : undefined;
      this.send({ type: 'subscribe', id: this.nextId++, channels: [...this.wanted], ...(recover && { recover }) });
    }
    this.opened?.resolve(welcome);
    this.opened = undefined;
  }

  private settle(id: number | undefined, subscriptions: Subscription[]): void {
    const pending = id === undefined ? undefined : this.waiting.get(id);
    if (!pending) return;
    this.waiting.delete(id!);
    pending.resolve({ subscriptions, errors: pending.errors });
  }

  private onClose(socket: WebSocketLike, event: { code: number; reason: string }): void {
    if (socket !== this.socket) return;
    this.stopTimers();
    this.socket = undefined;
    // Requests in flight will never be answered on this socket; they are re-sent as one resubscribe.
    for (const pending of this.waiting.values()) pending.resolve({ subscriptions: [], errors: pending.errors });
    this.waiting.clear();
    if (this.state === 'closed') return;
    if (this.opened || !this.backoff || FATAL.has(event.code)) {
      this.setState('closed', event);
      this.opened?.reject(new Error(`connection closed (${event.code}${event.reason ? ': ' + event.reason : ''})`));
      this.opened = undefined;
      return;
    }
    this.setState('reconnecting', event);
    const delay = backoffDelay(this.attempt++, this.backoff, this.random);
    this.retryTimer = setTimeout(() => this.open('reconnecting'), delay);
  }

  /**
   * Browsers cannot see WebSocket pings, so the client watches for silence itself: it sends an
   * application ping when idle and gives the connection up (then reconnects) after the server's
   * own timeout without any frame.
   */
  private startHeartbeat(intervalMs: number, timeoutMs: number): void {
    this.stopHeartbeat();
    this.lastFrameAt = Date.now();
    this.heartbeatTimer = setInterval(() => {
      const silent = Date.now() - this.lastFrameAt;
      if (silent >= timeoutMs && this.socket) {
        // A dead peer never completes the closing handshake: act on the close now, not when it times out.
        const socket = this.socket;
        socket.close(4000, 'heartbeat timeout');
        this.onClose(socket, { code: 4000, reason: 'heartbeat timeout' });
      } else if (silent >= intervalMs) {
        this.send({ type: 'ping' });
      }
    }, Math.max(50, Math.floor(intervalMs / 3)));
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private stopTimers(): void {
    this.stopHeartbeat();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private send(frame: ClientFrame): void {
    if (this.socket?.readyState !== OPEN) return;
    this.socket.send(this.format === 'msgpack' ? pack(frame) : JSON.stringify(frame));
  }

  private setState(state: ClientState, detail?: { code: number; reason: string }): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state, detail);
  }
}

function defaultSocketFactory(url: string, protocols: string[]): WebSocketLike {
  const Ctor = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => WebSocketLike }).WebSocket;
  if (!Ctor) throw new Error('no global WebSocket: pass createSocket (e.g. (url, p) => new WebSocket(url, p) from "ws")');
  return new Ctor(url, protocols);
}
