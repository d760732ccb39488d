/**
 * The reference for bench:ws: a raw `ws` server with nothing but a tick generator and per-connection
 * batching — no Fastify, no auth, limits, conflation, metrics, bus or database. It speaks just
 * enough of the /ws protocol for the same client (welcome, subscribed, batch) and encodes frames the
 * same way, at the same rate over the same symbols and flush interval. Whatever the platform costs
 * beyond it is the gateway's (and the platform's) overhead.
 */
import http from 'node:http';
import { unpack } from 'msgpackr';
import { WebSocketServer, type WebSocket } from 'ws';
import { codecFor, Outgoing, type Codec } from '../../src/realtime/codec.ts';
import { SUBPROTOCOL_MSGPACK } from '../../src/realtime/protocol.ts';

const port = Number(process.env.PORT ?? 0);
const symbols = (process.env.WS_SYMBOLS ?? '').split(',');
const ticksPerSecond = Number(process.env.WS_TICK_RATE ?? 20_000);
const flushMs = Number(process.env.WS_FLUSH_MS ?? 20);

interface Client {
  socket: WebSocket;
  codec: Codec;
  pending: Outgoing[];
}
const bySymbol = new Map<string, Set<Client>>(symbols.map((s) => [s, new Set()]));
const seqs = new Map<string, number>();
const clients = new Set<Client>();

const server = http.createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ server, perMessageDeflate: false, handleProtocols: (p) => (p.has(SUBPROTOCOL_MSGPACK) ? SUBPROTOCOL_MSGPACK : false) });
wss.on('connection', (socket) => {
  const client: Client = { socket, codec: codecFor(socket.protocol === SUBPROTOCOL_MSGPACK ? 'msgpack' : 'json'), pending: [] };
  clients.add(client);
  socket.on('message', (data, isBinary) => {
    const frame = (isBinary ? unpack(data as Buffer) : JSON.parse(String(data))) as { type: string; id?: number; channels?: string[] };
    if (frame.type === 'auth') {
      socket.send(client.codec.encode({ type: 'welcome', connectionId: '', userId: 0, accountIds: [], format: client.codec.format, heartbeatMs: 60_000, heartbeatTimeoutMs: 180_000, limits: { maxSubscriptions: 0, maxMessageBytes: 0, maxMessagesPerSecond: 0 } }));
    } else if (frame.type === 'subscribe') {
      for (const channel of frame.channels ?? []) bySymbol.get(channel.slice('quotes:'.length))?.add(client);
      socket.send(client.codec.encode({ type: 'subscribed', id: frame.id, subscriptions: [] }));
    }
  });
  socket.on('close', () => {
    clients.delete(client);
    for (const set of bySymbol.values()) set.delete(client);
  });
});

// Like the feed: a 10 ms step, ticks timestamped evenly across the step, uniform over symbols.
let carry = 0;
let last = Date.now();
setInterval(() => {
  const now = Date.now();
  const due = ((now - last) * ticksPerSecond) / 1000 + carry;
  const count = Math.floor(due);
  carry = due - count;
  for (let k = 0; k < count; k++) {
    const symbol = symbols[Math.floor(Math.random() * symbols.length)]!;
    const ts = Math.floor(last + ((k + 0.5) * (now - last)) / count);
    const channel = 'quotes:' + symbol;
    const seq = (seqs.get(channel) ?? 0) + 1;
    seqs.set(channel, seq);
    const price = 1_000_000 + Math.floor(Math.random() * 1000) * 100;
    const message = new Outgoing({ channel, seq, data: { id: 1, symbol, bid: price - 100, ask: price + 100, last: price, size: 100, ts } }, ts);
    for (const client of bySymbol.get(symbol)!) client.pending.push(message);
  }
  last = now;
}, 10);
setInterval(() => {
  for (const client of clients) {
    if (client.pending.length === 0) continue;
    client.socket.send(client.codec.batch(client.pending));
    client.pending = [];
  }
}, flushMs);

server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
