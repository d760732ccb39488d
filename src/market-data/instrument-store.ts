/** Instruments and latest-quote snapshots in the database (the system of record for the universe). */
import type { Database } from '../db/database.ts';
import type { Instrument } from './instrument.ts';

interface InstrumentRow {
  id: number;
  symbol: string;
  name: string;
  sector: string;
  exchange: string;
  tick_size: number;
  lot_size: number;
  base_price: number;
  volatility: number;
  avg_volume: number;
  tradable: boolean;
}

export interface StoredInstrument extends Instrument {
  tradable: boolean;
}

export interface QuoteSnapshot {
  instrumentId: number;
  bid: number;
  ask: number;
  last: number;
  volume: number;
  ts: number;
}

export class InstrumentStore {
  constructor(private readonly db: Database) {}

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM instruments');
    return rows[0]!.n;
  }

  /** Inserts instruments that are not stored yet (by id); existing rows are left as they are. */
  async insertMissing(instruments: readonly Instrument[]): Promise<void> {
    const column = <K extends keyof Instrument>(key: K) => instruments.map((i) => i[key]);
    await this.db.query(
      `INSERT INTO instruments (id, symbol, name, sector, exchange, tick_size, lot_size, base_price, volatility, avg_volume)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int[], $8::int8[], $9::float8[], $10::int8[])
       ON CONFLICT DO NOTHING`,
      [column('id'), column('symbol'), column('name'), column('sector'), column('exchange'), column('tickSize'), column('lotSize'), column('basePrice'), column('volatility'), column('avgVolume')],
    );
  }

  async loadAll(): Promise<StoredInstrument[]> {
    const { rows } = await this.db.query<InstrumentRow>('SELECT * FROM instruments ORDER BY id');
    return rows.map((r) => ({
      id: r.id,
      symbol: r.symbol,
      name: r.name,
      sector: r.sector,
      exchange: r.exchange,
      tickSize: r.tick_size,
      lotSize: r.lot_size,
      basePrice: r.base_price,
      volatility: r.volatility,
      avgVolume: r.avg_volume,
      tradable: r.tradable,
    }));
  }

  async loadQuotes(): Promise<QuoteSnapshot[]> {
    const { rows } = await this.db.query<{ instrument_id: number; bid: number; ask: number; last: number; volume: number; t: number }>(
      'SELECT instrument_id, bid, ask, last, volume, (extract(epoch FROM ts) * 1000)::int8 AS t FROM quotes_latest',
    );
    return rows.map((r) => ({ instrumentId: r.instrument_id, bid: r.bid, ask: r.ask, last: r.last, volume: r.volume, ts: r.t }));
  }

  async saveQuotes(quotes: readonly QuoteSnapshot[]): Promise<void> {
    if (quotes.length === 0) return;
    const column = <K extends keyof QuoteSnapshot>(key: K) => quotes.map((q) => q[key]);
    await this.db.query(
      `INSERT INTO quotes_latest (instrument_id, bid, ask, last, volume, ts)
       SELECT i, b, a, l, v, to_timestamp(t / 1000.0)
         FROM unnest($1::int[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::float8[]) AS u(i, b, a, l, v, t)
       ON CONFLICT (instrument_id) DO UPDATE
          SET bid = excluded.bid, ask = excluded.ask, last = excluded.last, volume = excluded.volume, ts = excluded.ts
        -- A former feed leader's last snapshot never moves a quote back.
        WHERE quotes_latest.ts <= excluded.ts`,
      [column('instrumentId'), column('bid'), column('ask'), column('last'), column('volume'), column('ts')],
    );
  }
}
