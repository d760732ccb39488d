/**
 * Trading sessions. `exchange`: 09:30–16:00 America/New_York, Monday–Friday, DST-correct via Intl;
 * exchange holidays and half days are ignored (every weekday is a full session). `always`: open
 * around the clock with a session boundary at 00:00 UTC, so the open burst happens at midnight UTC
 * and day orders expire then. Both kinds of session lie within one UTC day, which keeps lookups a
 * per-day cache hit.
 */
export type MarketHours = 'always' | 'exchange';

export interface Session {
  open: number;
  close: number;
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const OPEN_LOCAL_MS = (9 * 60 + 30) * MINUTE_MS;
const CLOSE_LOCAL_MS = 16 * 60 * MINUTE_MS;
const TRADING_DAYS_PER_YEAR = 252;
/** Open burst: +4× (5× total) decaying with a 5-minute time constant, ~gone after 15 minutes. */
const OPEN_BURST = 4;
const OPEN_DECAY_MIN = 5;
/** Close ramp: up to +1.5× over the last ~15 minutes. */
const CLOSE_BURST = 1.5;
const CLOSE_DECAY_MIN = 5;

export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export class MarketClock {
  readonly hours: MarketHours;
  /** Length of a full session (6.5 h or 24 h). */
  readonly sessionLengthMs: number;
  /** Trading time in a year, the unit annualized volatilities refer to. */
  readonly tradingMsPerYear: number;
  private readonly sessions = new Map<number, Session | null>();
  private readonly newYork: Intl.DateTimeFormat | undefined;

  constructor(hours: MarketHours) {
    this.hours = hours;
    if (hours === 'exchange') {
      this.newYork = new Intl.DateTimeFormat('en-US', {
        timeZone: 'America/New_York',
        hourCycle: 'h23',
        year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
      this.sessionLengthMs = CLOSE_LOCAL_MS - OPEN_LOCAL_MS;
      this.tradingMsPerYear = TRADING_DAYS_PER_YEAR * this.sessionLengthMs;
    } else {
      this.sessionLengthMs = DAY_MS;
      this.tradingMsPerYear = 365 * DAY_MS;
    }
  }

  /** The session on the UTC day containing `dayMs`, if that day trades. */
  sessionOn(dayMs: number): Session | undefined {
    const day = utcDayStart(dayMs);
    let session = this.sessions.get(day);
    if (session === undefined) {
      session = this.computeSession(day);
      this.sessions.set(day, session);
    }
    return session ?? undefined;
  }

  isOpen(ms: number): boolean {
    return this.sessionAt(ms) !== undefined;
  }

  /** Open time of the session containing `ms`. */
  sessionStart(ms: number): number | undefined {
    return this.sessionAt(ms)?.open;
  }

  /** Close time (exclusive) of the session containing `ms`. */
  sessionEnd(ms: number): number | undefined {
    return this.sessionAt(ms)?.close;
  }

  /** `ms` itself when the market is open then, otherwise the next session's open. */
  nextOpen(ms: number): number {
    if (this.isOpen(ms)) return ms;
    for (let day = utcDayStart(ms); ; day += DAY_MS) {
      const session = this.sessionOn(day);
      if (session && session.open > ms) return session.open;
    }
  }

  /** Activity multiplier (≥ 1): a burst right after the open, a smaller ramp into the close, 1 otherwise and when closed. */
  activity(ms: number): number {
    const session = this.sessionAt(ms);
    if (!session) return 1;
    const sinceOpen = (ms - session.open) / MINUTE_MS;
    const toClose = (session.close - ms) / MINUTE_MS;
    return 1 + OPEN_BURST * Math.exp(-sinceOpen / OPEN_DECAY_MIN) + CLOSE_BURST * Math.exp(-toClose / CLOSE_DECAY_MIN);
  }

  /** Epoch ms of every 1-minute bar start in the session of the UTC day containing `dayStartMs`. */
  sessionMinutes(dayStartMs: number): number[] {
    const session = this.sessionOn(dayStartMs);
    if (!session) return [];
    const minutes: number[] = [];
    for (let t = session.open; t < session.close; t += MINUTE_MS) minutes.push(t);
    return minutes;
  }

  private sessionAt(ms: number): Session | undefined {
    const session = this.sessionOn(ms);
    return session && ms >= session.open && ms < session.close ? session : undefined;
  }

  private computeSession(day: number): Session | null {
    if (!this.newYork) return { open: day, close: day + DAY_MS };
    const weekday = new Date(day).getUTCDay();
    if (weekday === 0 || weekday === 6) return null;
    // New York's DST switches at 02:00 local on Sundays, so the offset at noon UTC holds for the whole session.
    const offset = this.newYorkOffset(day + 12 * 3_600_000);
    return { open: day + OPEN_LOCAL_MS - offset, close: day + CLOSE_LOCAL_MS - offset };
  }

  /** Local New York wall time minus UTC at `ms` (−5 h or −4 h). */
  private newYorkOffset(ms: number): number {
    const parts: Record<string, number> = {};
    for (const part of this.newYork!.formatToParts(ms)) parts[part.type] = Number(part.value);
    const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
    return local - ms;
  }
}
