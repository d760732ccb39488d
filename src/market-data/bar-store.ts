/**
 * Durable bars. 1-minute bars go into the month-partitioned `bars_1m` in batches (one statement
 * per batch via unnest, the fastest portable bulk path on both engines); closed days are rolled up
 * into `bars_1d`; coarser intraday intervals are aggregated from 1-minute bars on read.
 */
import type { Database } from '../db/database.ts';
import { MonthPartitions } from '../db/partitions.ts';
import type { Bar, BarBatch } from './bar.ts';

export type Interval = '1m' | '5m' | '15m' | '1h' | '1d';
export const INTERVALS: readonly Interval[] = ['1m', '5m', '15m', '1h', '1d'];
const INTERVAL_MINUTES: Record<Interval, number> = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '1d': 1440 };
const DAY_MS = 86_400_000;
/** Sessions cover a fraction of the clock (exchange hours, weekends): widen "latest N" windows by this. */
const SPARSE_FACTOR = 6;

/** Where a "latest `limit` bars before `to`" read starts looking. */
export function latestFrom(interval: Interval, to: number, limit: number): number {
  return to - limit * INTERVAL_MINUTES[interval] * 60_000 * SPARSE_FACTOR;
}

export interface BarQuery {
  instrumentId: number;
  interval: Interval;
  /** Inclusive start; absent means "the latest `limit` bars before `to`". */
  from?: number;
  /** Exclusive end. */
  to: number;
  limit: number;
}

interface BarRow {
  t: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const INSERT_1M = `
  INSERT INTO bars_1m (instrument_id, ts, open, high, low, close, volume)
  SELECT i, to_timestamp(t / 1000.0), o, h, l, c, v
    FROM unnest($1::int[], $2::float8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[]) AS u(i, t, o, h, l, c, v)
  ON CONFLICT DO NOTHING`;

/**
 * Rows per live INSERT: the embedded engine runs one statement at a time, so a minute's bars for
 * every instrument in one statement (2,000 rows, tens of milliseconds, hundreds on a loaded machine)
 * held every order's commit behind it once a minute.
 */
const INSERT_ROWS = 250;

const ROLLUP = `
  INSERT INTO bars_1d (instrument_id, day, open, high, low, close, volume)
  SELECT instrument_id, (ts AT TIME ZONE 'UTC')::date,
         (array_agg(open ORDER BY ts))[1], max(high), min(low), (array_agg(close ORDER BY ts DESC))[1], sum(volume)
    FROM bars_1m WHERE ts >= $1 AND ts < $2 AND instrument_id BETWEEN $3 AND $4
   GROUP BY 1, 2
  ON CONFLICT (instrument_id, day) DO UPDATE
     SET open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume`;

const BAR_COLUMNS = ['instrument_id', 'ts', 'open', 'high', 'low', 'close', 'volume'];
const SELECT_COLUMNS = 'open::int8, high::int8, low::int8, close::int8, volume::int8';

/** Minute timestamps whose text form the encoder keeps (a few days of minutes): then it starts over. */
const ISO_CACHE_LIMIT = 20_000;

/** 1-minute bars as COPY text, with what loading them needs to know. */
export interface EncodedBars {
  text: string;
  rows: number;
  /** Earliest and latest bar start (epoch ms): the partitions to ensure. */
  min: number;
  max: number;
  /** UTC days (epoch ms of midnight) the rows touch, for the roll-up. */
  days: number[];
}

/** Encodes batches as COPY text; pure, so it runs on any thread (history-source.ts). */
export class CopyEncoder {
  /** Text of minute timestamps: a history repeats the same minutes for every instrument, and toISOString was most of the encoding. */
  private readonly isoTimes = new Map<number, string>();

  encode(batch: BarBatch): EncodedBars {
    const n = batch.length;
    const lines = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      lines[i] = `${batch.instrumentId[i]}\t${this.isoTime(batch.ts[i]!)}\t${batch.open[i]}\t${batch.high[i]}\t${batch.low[i]}\t${batch.close[i]}\t${batch.volume[i]}`;
    }
    return { text: lines.join('\n'), rows: n, ...span(batch) };
  }

  private isoTime(ms: number): string {
    let text = this.isoTimes.get(ms);
    if (text === undefined) {
      if (this.isoTimes.size >= ISO_CACHE_LIMIT) this.isoTimes.clear();
      text = new Date(ms).toISOString();
      this.isoTimes.set(ms, text);
    }
    return text;
  }
}

export class BarStore {
  private readonly encoder = new CopyEncoder();
  private readonly partitions: MonthPartitions;

  constructor(private readonly db: Database) {
    this.partitions = new MonthPartitions(db);
  }

  /** Inserts a batch (duplicates ignored); returns the UTC days it touched, for the daily roll-up. */
  async insert(batch: BarBatch): Promise<number[]> {
    const n = batch.length;
    if (n === 0) return [];
    const ts = batch.ts.subarray(0, n);
    const { min, max, days } = span(batch);
    await this.ensurePartitions(min, max);
    // A chunk that fails leaves the ones before it written: a retry skips them (ON CONFLICT DO NOTHING).
    for (let from = 0; from < n; from += INSERT_ROWS) {
      const to = Math.min(n, from + INSERT_ROWS);
      await this.db.query(INSERT_1M, [
        Array.from(batch.instrumentId.subarray(from, to)),
        Array.from(ts.subarray(from, to)),
        Array.from(batch.open.subarray(from, to)),
        Array.from(batch.high.subarray(from, to)),
        Array.from(batch.low.subarray(from, to)),
        Array.from(batch.close.subarray(from, to)),
        Array.from(batch.volume.subarray(from, to)),
      ]);
    }
    return days;
  }

  /**
   * Bulk load for seeding: COPY instead of INSERT. The caller clears the time range first
   * (`deleteRange`), since COPY cannot skip duplicates.
   */
  async bulkLoad(batch: BarBatch): Promise<number[]> {
    if (batch.length === 0) return [];
    return this.loadEncoded(this.encoder.encode(batch));
  }

  /** bulkLoad of rows already encoded (on another thread); returns the UTC days they touched. */
  async loadEncoded(bars: EncodedBars): Promise<number[]> {
    if (bars.rows === 0) return [];
    await this.ensurePartitions(bars.min, bars.max);
    await this.db.copyFrom('bars_1m', BAR_COLUMNS, bars.text);
    return bars.days;
  }

  /** Removes 1-minute and daily bars in [fromMs, toMs) (seeding replaces its window). */
  async deleteRange(fromMs: number, toMs: number): Promise<void> {
    await this.db.query('DELETE FROM bars_1m WHERE ts >= $1 AND ts < $2', [new Date(fromMs), new Date(toMs)]);
    await this.db.query("DELETE FROM bars_1d WHERE day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date", [new Date(fromMs), new Date(toMs)]);
  }

  /** Notes a finished history load, so every server drops what it cached before it (history_loads). */
  async recordLoad(fromMs: number, toMs: number, rows: number): Promise<void> {
    await this.db.query('INSERT INTO history_loads (from_ms, to_ms, rows) VALUES ($1, $2, $3)', [fromMs, toMs, rows]);
  }

  /** The newest history load's id; 0 before any. */
  async lastLoad(): Promise<number> {
    const { rows } = await this.db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM history_loads');
    return Number(rows[0]?.id ?? 0);
  }

  /** Recomputes the daily roll-up for the given UTC days (epoch ms of midnight). */
  async rollUpDays(days: Iterable<number>): Promise<void> {
    for (const day of [...new Set(days)].sort((a, b) => a - b)) await this.rollUpDay(day);
  }

  /** One UTC day's roll-up, optionally for instrument ids in [fromId, toId] only (a paced seed rolls up in slices). */
  async rollUpDay(day: number, fromId = 0, toId = 2 ** 31 - 1): Promise<void> {
    await this.db.query(ROLLUP, [new Date(day), new Date(day + DAY_MS), fromId, toId]);
  }

  async ensurePartitions(fromMs: number, toMs: number): Promise<void> {
    await this.partitions.ensure('bars_1m', fromMs, toMs);
  }

  async query(q: BarQuery): Promise<Bar[]> {
    const minutes = INTERVAL_MINUTES[q.interval];
    const latest = q.from === undefined;
    const from = q.from ?? latestFrom(q.interval, q.to, q.limit);
    const order = latest ? 'DESC' : 'ASC';
    const params = [q.instrumentId, new Date(from), new Date(q.to), q.limit];
    let rows: BarRow[];
    if (q.interval === '1m') {
      rows = (
        await this.db.replica.query<BarRow>(
          `SELECT (extract(epoch FROM ts) * 1000)::int8 AS t, ${SELECT_COLUMNS}
             FROM bars_1m WHERE instrument_id = $1 AND ts >= $2 AND ts < $3
            ORDER BY ts ${order} LIMIT $4`,
          params,
        )
      ).rows;
    } else if (q.interval === '1d') {
      rows = await this.daily(q, from, order);
    } else {
      rows = (
        await this.db.replica.query<BarRow>(
          `SELECT (extract(epoch FROM bucket) * 1000)::int8 AS t, ${SELECT_COLUMNS} FROM (
             SELECT date_bin($5::interval, ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
                    (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
                    (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume
               FROM bars_1m WHERE instrument_id = $1 AND ts >= $2 AND ts < $3
              GROUP BY 1) b
            ORDER BY bucket ${order} LIMIT $4`,
          [...params, `${minutes} minutes`],
        )
      ).rows;
    }
    if (latest) rows.reverse();
    return rows.map((r) => ({ ts: r.t, open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume }));
  }

  /** Closed days from the roll-up, plus days not rolled up yet (today) aggregated from minutes. */
  private async daily(q: BarQuery, from: number, order: 'ASC' | 'DESC'): Promise<BarRow[]> {
    const { rows } = await this.db.replica.query<BarRow>(
      `WITH rolled AS (
         SELECT day, open, high, low, close, volume FROM bars_1d
          WHERE instrument_id = $1 AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND day < ($3::timestamptz AT TIME ZONE 'UTC')::date + 1
       ), recent AS (
         SELECT (ts AT TIME ZONE 'UTC')::date AS day,
                (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
                (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume
           FROM bars_1m
          WHERE instrument_id = $1 AND ts >= greatest($2::timestamptz, coalesce((SELECT max(day) + 1 FROM rolled)::timestamp AT TIME ZONE 'UTC', $2::timestamptz)) AND ts < $3
          GROUP BY 1
       )
       SELECT (extract(epoch FROM (day::timestamp AT TIME ZONE 'UTC')) * 1000)::int8 AS t, ${SELECT_COLUMNS}
         FROM (SELECT * FROM rolled UNION ALL SELECT * FROM recent) d
        ORDER BY day ${order} LIMIT $4`,
      [q.instrumentId, new Date(from), new Date(q.to), q.limit],
    );
    return rows;
  }
}

/** Time span of a batch and the UTC days (midnight epoch ms) it touches. */
function span(batch: BarBatch): { min: number; max: number; days: number[] } {
  let min = Infinity;
  let max = -Infinity;
  const days = new Set<number>();
  for (let i = 0; i < batch.length; i++) {
    const t = batch.ts[i]!;
    if (t < min) min = t;
    if (t > max) max = t;
    days.add(Math.floor(t / DAY_MS) * DAY_MS);
  }
  return { min, max, days: [...days] };
}
