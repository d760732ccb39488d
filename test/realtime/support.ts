/** Helpers for gateway tests: typed clients over `ws`, raw sockets, and waiting without timed assertions. */
import { unpack } from 'msgpackr';
import WebSocket from 'ws';
import { RealtimeClient, type RealtimeClientOptions, type WebSocketLike } from '../../src/realtime/client.ts';
import type { ChannelMessage, ErrorFrame, ServerFrame } from '../../src/realtime/protocol.ts';

export function wsUrl(address: string): string {
  return address.replace(/^http/, 'ws') + '/ws';
}

/** A client that records what it receives and the sockets it opened (to cut them). */
export function recordingClient(options: Omit<RealtimeClientOptions, 'createSocket'>) {
  const messages: ChannelMessage[] = [];
  const errors: ErrorFrame[] = [];
  const sockets: WebSocket[] = [];
  const client = new RealtimeClient({
    ...options,
    createSocket: (url, protocols) => {
      const socket = new WebSocket(url, protocols);
      sockets.push(socket);
      return socket as unknown as WebSocketLike;
    },
    onMessage: (m) => messages.push(m),
    onError: (e) => errors.push(e),
  });
  return { client, messages, errors, sockets };
}

/** Polls until the condition holds; the timeout is only a failure bound, never a measurement. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A raw socket that decodes every server frame, for protocol-level tests. */
export async function rawSocket(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}) {
  const socket = new WebSocket(url, options.protocols ?? [], options);
  const frames: ServerFrame[] = [];
  let closed: { code: number; reason: string } | undefined;
  socket.on('message', (data, isBinary) => {
    frames.push((isBinary ? unpack(data as Buffer) : JSON.parse(String(data))) as ServerFrame);
  });
  socket.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    frames,
    closed: () => closed,
    send: (frame: unknown) => socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame)),
    /** Waits for the first frame (from index `from`) matching the predicate. */
    async next<T extends ServerFrame>(predicate: (f: ServerFrame) => boolean, from = 0): Promise<T> {
      let found: ServerFrame | undefined;
      await eventually(() => (found = frames.slice(from).find(predicate)) !== undefined, 'a matching frame');
      return found as T;
    },
  };
}


