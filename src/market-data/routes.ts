/** HTTP adapter over the MarketData engine: instruments, quotes and bars. */
import type { FastifyInstance } from 'fastify';
import { secondsToNextMinute, type RouteCache } from '../cache/http/route-cache.ts';
import { tags } from '../cache/invalidation.ts';
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Timestamp, parseTime } from '../http/validation.ts';
import type { FastAnswer, FastRoute } from '../http/fast-lane.ts';
import type { Clock } from '../kernel/clock.ts';
import { BadRequestError } from '../kernel/errors.ts';
import { fromUnits } from '../kernel/money.ts';
import type { Bar } from './bar.ts';
import { bookOf, type BookSnapshots } from './book-snapshots.ts';
import { INTERVALS } from './bar-store.ts';
import type { StoredInstrument } from './instrument-store.ts';
import type { Quote } from './quote-book.ts';
import type { MarketData } from './service.ts';

const MAX_SYMBOLS_PER_REQUEST = 2_000;

const SYMBOL_PATTERN = '^[A-Za-z0-9.\\-]+$';
const SymbolParam = Type.Object({ symbol: Type.String({ minLength: 1, maxLength: 12, pattern: SYMBOL_PATTERN }) });

const InstrumentSchema = Type.Object({
  symbol: Type.String(),
  name: Type.String(),
  sector: Type.String(),
  exchange: Type.String(),
  tickSize: Type.Number(),
  lotSize: Type.Integer(),
  tradable: Type.Boolean(),
});

export const QuoteSchema = Type.Object({
  symbol: Type.String(),
  bid: Type.Number(),
  ask: Type.Number(),
  last: Type.Number(),
  bidSize: Type.Integer(),
  askSize: Type.Integer(),
  volume: Type.Integer(),
  ts: Type.Integer({ description: 'epoch milliseconds of the last update' }),
  seq: Type.Integer(),
});

const BookLevelSchema = Type.Object({ price: Type.Number(), size: Type.Integer() });

const BookSchema = Type.Object({
  symbol: Type.String(),
  bid: Type.Number(),
  ask: Type.Number(),
  bidSize: Type.Integer(),
  askSize: Type.Integer(),
  last: Type.Number(),
  ts: Type.Integer({ description: 'epoch milliseconds of the tick this state comes from' }),
  seq: Type.Integer({ description: 'the feed leader’s book sequence of that tick' }),
  depth: Type.Object({ bids: Type.Array(BookLevelSchema), asks: Type.Array(BookLevelSchema) }, { description: 'price levels, best first' }),
  source: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { description: 'memory: this instance leads the feed (or Redis did not answer); redis: the leader’s snapshot' }),
});

const BarSchema = Type.Object({
  ts: Type.Integer({ description: 'bar start, epoch milliseconds' }),
  open: Type.Number(),
  high: Type.Number(),
  low: Type.Number(),
  close: Type.Number(),
  volume: Type.Integer(),
});

const BarsQuery = Type.Object(
  {
    interval: Type.Union(INTERVALS.map((i) => Type.Literal(i)), { default: '1m' }),
    from: Type.Optional(Timestamp()),
    to: Type.Optional(Timestamp()),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  },
  { additionalProperties: false },
);

const InstrumentsQuery = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 64 })),
    sector: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const QuotesQuery = Type.Object(
  { symbols: Type.Optional(Type.String({ maxLength: 20_000, description: 'comma-separated symbols; all instruments when absent' })) },
  { additionalProperties: false },
);

/**
 * The quote's update time and sequence name this version: a validator without hashing the body (the
 * ETag hook answers If-None-Match with 304). Weak, as compression may follow.
 */
const quoteEtag = (quote: Quote): string => `W/"q${quote.ts.toString(36)}-${quote.seq.toString(36)}"`;

const QUOTE_TEMPLATE = '/api/market-data/quotes/:symbol';
/** SymbolParam's rule, for a raw path segment (anything percent-encoded goes to Fastify). */
const PLAIN_SYMBOL = new RegExp(SYMBOL_PATTERN);

/**
 * GET /api/market-data/quotes/:symbol in the fast lane (src/http/fast-lane.ts): the same body and ETag
 * as the route below; an invalid or unknown symbol is left to the route (400 / 404).
 */
export function quoteFastRoute(marketData: MarketData): FastRoute {
  // The last answer per symbol, reused while the quote's version (ts, seq: its ETag) is unchanged: a hot
  // symbol is read many times per tick, and serializing it was the lane's largest own cost.
  const last = new Map<string, { ts: number; seq: number; answer: FastAnswer }>();
  return {
    prefix: QUOTE_TEMPLATE.slice(0, -':symbol'.length),
    template: QUOTE_TEMPLATE,
    answer(symbol) {
      if (symbol.length > 12 || !PLAIN_SYMBOL.test(symbol)) return undefined;
      const quote = marketData.findQuote(symbol);
      if (!quote) return undefined;
      const memo = last.get(quote.symbol);
      if (memo && memo.ts === quote.ts && memo.seq === quote.seq) return memo.answer;
      const answer = { body: JSON.stringify(toQuoteDto(quote)), etag: quoteEtag(quote) };
      last.set(quote.symbol, { ts: quote.ts, seq: quote.seq, answer });
      return answer;
    },
  };
}

export function toQuoteDto(q: Quote): Static<typeof QuoteSchema> {
  return { symbol: q.symbol, bid: fromUnits(q.bid), ask: fromUnits(q.ask), last: fromUnits(q.last), bidSize: q.bidSize, askSize: q.askSize, volume: q.volume, ts: q.ts, seq: q.seq };
}

function toInstrumentDto(i: StoredInstrument): Static<typeof InstrumentSchema> {
  return { symbol: i.symbol, name: i.name, sector: i.sector, exchange: i.exchange, tickSize: fromUnits(i.tickSize), lotSize: i.lotSize, tradable: i.tradable };
}

function toBarDto(b: Bar): Static<typeof BarSchema> {
  return { ts: b.ts, open: fromUnits(b.open), high: fromUnits(b.high), low: fromUnits(b.low), close: fromUnits(b.close), volume: b.volume };
}

function hasBars(answer: unknown): boolean {
  return (answer as { bars: unknown[] }).bars.length > 0;
}

/** Bars older than this are written for sure (the writer lags a minute's close by a little). */
const CLOSED_AFTER_MS = 2 * 60_000;

/**
 * @param cached reads instruments and bars through the tiered cache (the composition root passes it).
 * @param book the order-book snapshots in Redis (scaled deployment): a follower answers the book route from them.
 */
export function marketDataRoutes(marketData: MarketData, clock: Clock, cached?: RouteCache, book?: BookSnapshots) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/instruments',
      {
        schema: {
          tags: ['market data'],
          summary: 'List instruments (search by symbol prefix or name, filter by sector, cursor pagination)',
          querystring: InstrumentsQuery,
          response: { 200: Type.Object({ items: Type.Array(InstrumentSchema), nextCursor: Type.Optional(Type.String()), total: Type.Integer() }) },
        },
      },
      async (request, reply) => {
        const load = async () => {
          const { items, nextCursor } = marketData.listInstruments(request.query);
          return { items: items.map(toInstrumentDto), nextCursor, total: marketData.instruments.length };
        };
        if (!cached) return load();
        const { search = '', sector = '', limit, cursor = '' } = request.query;
        return cached(request, reply, { cls: 'instruments', key: `list:${search}|${sector}|${limit}|${cursor}` }, load);
      },
    );

    app.get(
      '/api/market-data/quotes',
      {
        schema: {
          tags: ['market data'],
          summary: 'Latest quotes for a list of symbols (or every instrument)',
          querystring: QuotesQuery,
          response: { 200: Type.Object({ quotes: Type.Array(QuoteSchema) }) },
        },
      },
      async (request) => {
        const symbols = request.query.symbols?.split(',').map((s) => s.trim()).filter(Boolean);
        if (symbols && symbols.length === 0) throw new BadRequestError('query.symbols must name at least one symbol');
        if (symbols && symbols.length > MAX_SYMBOLS_PER_REQUEST) throw new BadRequestError(`query.symbols names more than ${MAX_SYMBOLS_PER_REQUEST} symbols`);
        return { quotes: marketData.quotes(symbols).map(toQuoteDto) };
      },
    );

    app.get(
      QUOTE_TEMPLATE,
      {
        schema: { tags: ['market data'], summary: 'Latest quote for one symbol', params: SymbolParam, response: { 200: QuoteSchema } },
      },
      // Synchronous (reply.send, not an async handler): the hottest read pays no promise and no microtask.
      (request, reply) => {
        const quote = marketData.quote(request.params.symbol);
        reply.header('etag', quoteEtag(quote));
        reply.send(toQuoteDto(quote));
      },
    );

    app.get(
      '/api/market-data/book/:symbol',
      {
        schema: {
          tags: ['market data'],
          summary: 'Order book of one symbol: best bid and ask with depth, as the feed leader last wrote it to Redis (the leader answers from memory)',
          params: SymbolParam,
          response: { 200: BookSchema },
        },
      },
      async (request, reply) => {
        const { symbol } = marketData.instrument(request.params.symbol);
        reply.header('cache-control', 'private, no-cache');
        if (book && marketData.status().role === 'follower') {
          const stored = await book.read(symbol);
          if (stored) return { ...stored, source: 'redis' as const };
        }
        return { ...bookOf(marketData.quote(symbol)), source: 'memory' as const };
      },
    );

    app.get(
      '/api/market-data/bars/:symbol',
      {
        schema: {
          tags: ['market data'],
          summary: 'Price bars; 5m/15m/1h aggregate 1-minute bars, 1d reads the daily roll-up. Without `from`, the latest `limit` bars before `to`.',
          params: SymbolParam,
          querystring: BarsQuery,
          response: { 200: Type.Object({ symbol: Type.String(), interval: Type.String(), bars: Type.Array(BarSchema) }) },
        },
      },
      async (request, reply) => {
        const { interval, limit } = request.query;
        const from = request.query.from === undefined ? undefined : parseTime(request.query.from, 'query.from');
        const now = clock.now();
        const requestedTo = request.query.to === undefined ? undefined : parseTime(request.query.to, 'query.to');
        const to = requestedTo ?? now + 60_000;
        if (from !== undefined && from >= to) throw new BadRequestError('query.from must be before query.to');
        const instrument = marketData.instrument(request.params.symbol);
        const load = async () => {
          const bars = await marketData.bars(instrument.symbol, interval, { from, to, limit });
          return { symbol: instrument.symbol, interval, bars: bars.map(toBarDto) };
        };
        if (!cached) return load();
        // A closed range with bars never changes (an empty one may yet be backfilled). An open one
        // ("latest", or reaching the current minute) is keyed by minute and dropped early by bar
        // events; HTTP caches keep it only until the next minute, less than any bar interval.
        const closed = requestedTo !== undefined && requestedTo <= now - CLOSED_AFTER_MS;
        const end = closed ? String(requestedTo) : `open@${Math.floor(now / 60_000)}`;
        return cached(
          request,
          reply,
          {
            cls: 'historicalBars',
            key: `${instrument.symbol}|${interval}|${from ?? 'latest'}|${end}|${limit}`,
            tags: closed ? [] : [tags.openBars(instrument.symbol)],
            ...(closed ? { immutable: hasBars } : { maxAgeS: secondsToNextMinute(now) }),
          },
          load,
        );
      },
    );
  };
}
