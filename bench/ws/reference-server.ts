/**
 * The reference for bench:ws: a raw `ws` server fed by the same simulated feed (MarketFeed: same
 * instruments, seed, tick rate and tick timestamps) that broadcasts the same batched frames with the
 * same conflation rule (latest quote per symbol per flush, encoded once and shared) — and nothing
 * else: no Fastify, auth, limits, metrics, database, bar aggregation or other platform timers. It
 * speaks just enough of the /ws protocol for the same client (welcome, subscribed, batch). Whatever
 * the platform costs beyond it is the gateway's and the rest of the platform's overhead.
 */
import http from 'node:http';
import { unpack } from 'msgpackr';
import { WebSocketServer, type WebSocket } from 'ws';
import { MessageBus } from '../../src/kernel/bus.ts';
import { systemClock } from '../../src/kernel/clock.ts';
import { MarketFeed, type Tick } from '../../src/market-data/feed.ts';
import { MarketClock } from '../../src/market-data/market-clock.ts';
import { QuoteBook } from '../../src/market-data/quote-book.ts';
import { buildUniverse } from '../../src/market-data/universe.ts';
import { codecFor, Outgoing, type Codec } from '../../src/realtime/codec.ts';
import { PRICE_SCALE } from '../../src/kernel/money.ts';
import { SUBPROTOCOL_MSGPACK } from '../../src/realtime/protocol.ts';

const port = Number(process.env.PORT ?? 0);
const instruments = buildUniverse(Number(process.env.WS_INSTRUMENTS ?? 2000), Number(process.env.WS_SEED ?? 42));
const flushMs = Number(process.env.WS_FLUSH_MS ?? 20);

interface Client {
  socket: WebSocket;
  codec: Codec;
  pending: Outgoing[];
}
interface Symbol {
  channel: string;
  seq: number;
  latest: Tick | undefined;
  subscribers: Set<Client>;
}
const bySymbol = new Map<string, Symbol>(instruments.map((i) => [i.symbol, { channel: `quotes:${i.symbol}`, seq: 0, latest: undefined, subscribers: new Set() }]));
const changed: Symbol[] = [];
const clients = new Set<Client>();

const server = http.createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ server, perMessageDeflate: false, handleProtocols: (p) => (p.has(SUBPROTOCOL_MSGPACK) ? SUBPROTOCOL_MSGPACK : false) });
wss.on('connection', (socket) => {
  const client: Client = { socket, codec: codecFor(socket.protocol === SUBPROTOCOL_MSGPACK ? 'msgpack' : 'json'), pending: [] };
  clients.add(client);
  socket.on('message', (data, isBinary) => {
    const frame = (isBinary ? unpack(data as Buffer) : JSON.parse(String(data))) as { type: string; id?: number; channels?: string[] };
    if (frame.type === 'auth') {
      socket.send(client.codec.encode({ type: 'welcome', connectionId: '', userId: 0, accountIds: [], format: client.codec.format, priceScale: PRICE_SCALE, heartbeatMs: 60_000, heartbeatTimeoutMs: 180_000, limits: { maxSubscriptions: 0, maxMessageBytes: 0, maxMessagesPerSecond: 0, maxSnapshotsPerSecond: 0 } }));
    } else if (frame.type === 'subscribe') {
      for (const channel of frame.channels ?? []) bySymbol.get(channel.slice('quotes:'.length))?.subscribers.add(client);
      socket.send(client.codec.encode({ type: 'subscribed', id: frame.id, subscriptions: [] }));
    }
  });
  socket.on('close', () => {
    clients.delete(client);
    for (const symbol of bySymbol.values()) symbol.subscribers.delete(client);
  });
});

const bus = new MessageBus();
bus.subscribe('quote.*', (tick) => {
  const symbol = bySymbol.get(tick.symbol)!;
  symbol.seq++;
  if (symbol.latest === undefined) changed.push(symbol);
  symbol.latest = tick;
});
const feed = new MarketFeed({
  instruments,
  book: new QuoteBook(instruments),
  clock: systemClock,
  marketClock: new MarketClock('always'),
  bus,
  ticksPerSecond: Number(process.env.WS_TICK_RATE ?? 20_000),
  seed: Number(process.env.WS_SEED ?? 42),
});
feed.start();

setInterval(() => {
  for (const symbol of changed) {
    const tick = symbol.latest!;
    symbol.latest = undefined;
    if (symbol.subscribers.size === 0) continue;
    const message = new Outgoing({ channel: symbol.channel, seq: symbol.seq, data: tick }, tick.ts);
    for (const client of symbol.subscribers) client.pending.push(message);
  }
  changed.length = 0;
  for (const client of clients) {
    if (client.pending.length === 0) continue;
    client.socket.send(client.codec.batch(client.pending));
    client.pending = [];
  }
}, flushMs);

server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
