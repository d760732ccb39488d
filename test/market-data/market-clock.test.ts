import { describe, expect, it } from 'vitest';
import { MarketClock } from '../../src/market-data/market-clock.ts';

const MIN = 60_000;
const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);

describe('MarketClock exchange hours', () => {
  const clock = new MarketClock('exchange');

  it('opens 09:30–16:00 New York time in winter (EST, UTC−5)', () => {
    // Monday 2026-01-05
    expect(clock.isOpen(utc(2026, 1, 5, 14, 29))).toBe(false);
    expect(clock.isOpen(utc(2026, 1, 5, 14, 30))).toBe(true);
    expect(clock.isOpen(utc(2026, 1, 5, 20, 59))).toBe(true);
    expect(clock.isOpen(utc(2026, 1, 5, 21, 0))).toBe(false);
    expect(clock.sessionStart(utc(2026, 1, 5, 17))).toBe(utc(2026, 1, 5, 14, 30));
    expect(clock.sessionEnd(utc(2026, 1, 5, 17))).toBe(utc(2026, 1, 5, 21));
    expect(clock.sessionStart(utc(2026, 1, 5, 22))).toBeUndefined();
  });

  it('follows daylight saving time (EDT, UTC−4) across the March switch', () => {
    // DST starts Sunday 2026-03-08: Friday before opens 14:30 UTC, Monday after 13:30 UTC.
    expect(clock.sessionStart(utc(2026, 3, 6, 15))).toBe(utc(2026, 3, 6, 14, 30));
    expect(clock.sessionStart(utc(2026, 3, 9, 15))).toBe(utc(2026, 3, 9, 13, 30));
    expect(clock.isOpen(utc(2026, 3, 9, 13, 30))).toBe(true);
    expect(clock.isOpen(utc(2026, 3, 9, 20, 0))).toBe(false);
    // Back to EST after Sunday 2026-11-01.
    expect(clock.sessionStart(utc(2026, 11, 2, 15))).toBe(utc(2026, 11, 2, 14, 30));
  });

  it('is closed at weekends and reports the next open', () => {
    expect(clock.isOpen(utc(2026, 1, 10, 16))).toBe(false); // Saturday
    expect(clock.isOpen(utc(2026, 1, 11, 16))).toBe(false); // Sunday
    expect(clock.sessionMinutes(utc(2026, 1, 10))).toEqual([]);
    expect(clock.nextOpen(utc(2026, 1, 9, 22))).toBe(utc(2026, 1, 12, 14, 30)); // Friday evening → Monday
    expect(clock.nextOpen(utc(2026, 1, 12, 3))).toBe(utc(2026, 1, 12, 14, 30));
    expect(clock.nextOpen(utc(2026, 1, 12, 15))).toBe(utc(2026, 1, 12, 15)); // already open
  });

  it('lists the 390 session minutes of a trading day', () => {
    const minutes = clock.sessionMinutes(utc(2026, 3, 9));
    expect(minutes).toHaveLength(390);
    expect(minutes[0]).toBe(utc(2026, 3, 9, 13, 30));
    expect(minutes[389]).toBe(utc(2026, 3, 9, 19, 59));
    expect(clock.sessionMinutes(utc(2026, 3, 9, 18))).toEqual(minutes);
  });

  it('bursts at the open, ramps into the close, and is flat in between', () => {
    const open = utc(2026, 1, 5, 14, 30);
    const close = utc(2026, 1, 5, 21);
    const atOpen = clock.activity(open);
    expect(atOpen).toBeGreaterThan(4.5);
    expect(atOpen).toBeLessThanOrEqual(5.01);
    expect(clock.activity(open + 5 * MIN)).toBeLessThan(atOpen);
    expect(clock.activity(open + 5 * MIN)).toBeGreaterThan(clock.activity(open + 10 * MIN));
    expect(clock.activity(open + 20 * MIN)).toBeLessThan(1.1);
    expect(clock.activity(open + 180 * MIN)).toBeCloseTo(1, 6);
    const nearClose = clock.activity(close - 1);
    expect(nearClose).toBeGreaterThan(2);
    expect(nearClose).toBeLessThan(atOpen);
    expect(clock.activity(close - 30 * MIN)).toBeLessThan(1.05);
    expect(clock.activity(close + MIN)).toBe(1);
  });
});

describe('MarketClock always open', () => {
  const clock = new MarketClock('always');

  it('is always open with sessions bounded at 00:00 UTC', () => {
    const saturday = utc(2026, 1, 10, 3, 17);
    expect(clock.isOpen(saturday)).toBe(true);
    expect(clock.sessionStart(saturday)).toBe(utc(2026, 1, 10));
    expect(clock.sessionEnd(saturday)).toBe(utc(2026, 1, 11));
    expect(clock.nextOpen(saturday)).toBe(saturday);
    expect(clock.sessionMinutes(utc(2026, 1, 10))).toHaveLength(1440);
  });

  it('puts the open burst at midnight UTC', () => {
    expect(clock.activity(utc(2026, 1, 10))).toBeGreaterThan(4.5);
    expect(clock.activity(utc(2026, 1, 10, 12))).toBeCloseTo(1, 6);
    expect(clock.activity(utc(2026, 1, 10, 23, 59))).toBeGreaterThan(1.5);
  });
});
