/**
 * The dashboard's one WebSocket (/ws): MessagePack frames from the server (smaller and cheaper to
 * decode than JSON at thousands of quotes a second; the no-eval decoder, as the CSP allows no eval),
 * JSON text frames to it (the server reads either). Authenticates with an `auth` frame (browsers
 * cannot set headers, and tokens never go in URLs), gives up on an attempt not welcomed within
 * WELCOME_TIMEOUT_MS (a handshake can hang where a proxy or the browser holds it), reconnects with
 * capped exponential backoff and jitter, and resubscribes every channel it holds: orders and portfolio channels with the last
 * offset and epoch received, so the server replays exactly the missed events (emitted as if live);
 * the others, and any the server cannot recover, answer with a snapshot that brings the state back.
 */
import { Unpackr } from 'msgpackr/unpack-no-eval';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export interface Message {
  channel: string;
  event?: string;
  offset?: number;
  epoch?: string;
  data: unknown;
}

interface Subscription {
  channel: string;
  snapshot?: unknown;
  offset?: number;
  epoch?: string;
  recovered?: boolean;
  publications?: Message[];
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;
/** Longer than the server's auth timeout (5 s by default), which closes a socket that never authenticated. */
const WELCOME_TIMEOUT_MS = 8_000;

export class LiveConnection {
  #socket: WebSocket | undefined;
  #attempt = 0;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;
  readonly #channels = new Set<string>();
  /** Recoverable channels: the last offset and epoch received, sent back as `recover` after a reconnect. */
  readonly #positions = new Map<string, { offset: number; epoch: string }>();
  readonly #listeners = new Set<(message: Message) => void>();
  readonly #stateListeners = new Set<(state: ConnectionState) => void>();
  state: ConnectionState = 'connecting';

  constructor(
    private readonly token: string,
    private readonly url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  ) {
    this.#open();
  }

  onMessage(listener: (message: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called at once with the current state: a view listening after the welcome (in an effect, after paint) would otherwise never learn it is open. */
  onState(listener: (state: ConnectionState) => void): () => void {
    this.#stateListeners.add(listener);
    listener(this.state);
    return () => this.#stateListeners.delete(listener);
  }

  subscribe(channels: string[]): void {
    const fresh = channels.filter((c) => !this.#channels.has(c));
    for (const channel of fresh) this.#channels.add(channel);
    if (fresh.length > 0) this.#send({ type: 'subscribe', id: this.#nextId++, channels: fresh });
  }

  unsubscribe(channels: string[]): void {
    const held = channels.filter((c) => this.#channels.delete(c));
    for (const channel of held) for (const name of this.#positions.keys()) if (name === channel || name.startsWith(`${channel}:`)) this.#positions.delete(name);
    if (held.length > 0) this.#send({ type: 'unsubscribe', id: this.#nextId++, channels: held });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#welcomeTimer);
    this.#socket?.close(1000);
  }

  #open(): void {
    this.#setState('connecting');
    const socket = new WebSocket(this.url, 'tachyon.v1.msgpack');
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'auth', token: this.token }));
    };
    socket.onmessage = (event) => this.#receive(typeof event.data === 'string' ? JSON.parse(event.data) : unpackr.unpack(new Uint8Array(event.data as ArrayBuffer)));
    // close() on a socket still connecting aborts it and fires onclose: the retry below follows.
    this.#welcomeTimer = setTimeout(() => socket.close(), WELCOME_TIMEOUT_MS);
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      clearTimeout(this.#welcomeTimer);
      this.#setState('closed');
      // 4001: the token is not valid; retrying would only be refused again.
      if (this.#closed || event.code === 4001) return;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.#attempt++) * (0.5 + Math.random() / 2);
      this.#timer = setTimeout(() => this.#open(), delay);
    };
  }

  #receive(frame: { type: string; subscriptions?: Subscription[]; messages?: Message[] }): void {
    if (frame.type === 'welcome') {
      clearTimeout(this.#welcomeTimer);
      this.#attempt = 0;
      this.#setState('open');
      // Every channel held, first connection or not: recovered events or snapshots bring a reconnected client up to date.
      const recover = this.#positions.size > 0 ? Object.fromEntries(this.#positions) : undefined;
      if (this.#channels.size > 0) this.#send({ type: 'subscribe', id: this.#nextId++, channels: [...this.#channels], ...(recover && { recover }) });
    } else if (frame.type === 'subscribed') {
      for (const s of frame.subscriptions ?? []) {
        if (s.offset !== undefined && s.epoch !== undefined) this.#positions.set(s.channel, { offset: s.offset, epoch: s.epoch });
        if (s.recovered) for (const message of s.publications ?? []) this.#emit(message);
        else if (s.snapshot != null) this.#emit({ channel: s.channel, event: 'snapshot', data: s.snapshot });
      }
    } else if (frame.type === 'batch') {
      for (const message of frame.messages ?? []) this.#emit(message);
    }
  }

  #emit(message: Message): void {
    if (message.offset !== undefined && message.epoch !== undefined) this.#positions.set(message.channel, { offset: message.offset, epoch: message.epoch });
    for (const listener of this.#listeners) listener(message);
  }

  #send(frame: object): void {
    // Until `welcome`, channels wait in the set: they are all sent then.
    if (this.#socket?.readyState === WebSocket.OPEN && this.state === 'open') this.#socket.send(JSON.stringify(frame));
  }

  #setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.#stateListeners) listener(state);
  }
}
