/**
 * The price process shared by the live feed and generated history, so history flows into live
 * ticks without a seam: the log of price / basePrice follows an Ornstein–Uhlenbeck walk (a
 * geometric random walk with weak pull back to the base price, half-life 20 sessions) so long
 * runs keep prices, tick sizes and spreads believable. Time is trading time of the market clock.
 */
import { PRICE_SCALE } from '../kernel/money.ts';
import type { Instrument } from './instrument.ts';
import type { MarketClock } from './market-clock.ts';

const REVERSION_HALF_LIFE_SESSIONS = 20;

export interface WalkParams {
  /** Standard deviation of log price per √ms of trading time. */
  sigmaPerSqrtMs: number;
  /** Fraction of the log deviation from base removed per ms. */
  reversionPerMs: number;
}

export function walkParams(volatility: number, marketClock: MarketClock): WalkParams {
  return {
    sigmaPerSqrtMs: volatility / Math.sqrt(marketClock.tradingMsPerYear),
    reversionPerMs: Math.LN2 / (REVERSION_HALF_LIFE_SESSIONS * marketClock.sessionLengthMs),
  };
}

/**
 * Quoted spread as a fraction of price: tighter for liquid names (dollar volume), wider for
 * volatile and cheap ones. The feed rounds it to whole ticks, at least one.
 */
export function relativeSpread(instrument: Instrument): number {
  const dollars = instrument.basePrice / PRICE_SCALE;
  const dollarVolume = Math.max(1, instrument.avgVolume * dollars);
  return (2 / Math.sqrt(dollarVolume)) * (instrument.volatility / 0.3) + 0.001 / (dollars + 1);
}
