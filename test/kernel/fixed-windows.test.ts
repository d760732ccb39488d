import { describe, expect, it } from 'vitest';
import { FixedWindows } from '../../src/kernel/fixed-windows.ts';

describe('FixedWindows', () => {
  it('counts hits per key within a window and starts a fresh one when it closes', () => {
    const windows = new FixedWindows(1000, 10);
    expect(windows.hit('a', 0)).toEqual({ count: 1, endsAt: 1000 });
    expect(windows.hit('a', 999).count).toBe(2);
    expect(windows.hit('b', 500)).toEqual({ count: 1, endsAt: 1500 });
    expect(windows.current('a', 999)?.count).toBe(2);
    // The window is [start, start + 1000): at 1000 it is closed.
    expect(windows.current('a', 1000)).toBeUndefined();
    expect(windows.hit('a', 1000)).toEqual({ count: 1, endsAt: 2000 });
  });

  it('stays within its bound by dropping the oldest window, and a renewed window counts as new', () => {
    const windows = new FixedWindows(1000, 2);
    windows.hit('a', 0);
    windows.hit('b', 10);
    windows.hit('a', 1000); // renewed: now the newest
    windows.hit('c', 1010); // full: drops b, the oldest
    expect(windows.size).toBe(2);
    expect(windows.current('b', 1010)).toBeUndefined();
    expect(windows.current('a', 1010)?.count).toBe(1);
    expect(windows.current('c', 1010)?.count).toBe(1);
  });

  it('hitBelow counts only below the bound, in one lookup, and keys may be numbers', () => {
    const windows = new FixedWindows<number>(1000, 10);
    expect(windows.hitBelow(7, 0, 2)).toEqual({ count: 1, endsAt: 1000 });
    expect(windows.hitBelow(7, 10, 2)?.count).toBe(2);
    // At the bound: nothing counted.
    expect(windows.hitBelow(7, 20, 2)).toBeUndefined();
    expect(windows.current(7, 20)?.count).toBe(2);
    // A closed window is replaced by a fresh one; a bound of 0 counts nothing.
    expect(windows.hitBelow(7, 1000, 2)).toEqual({ count: 1, endsAt: 2000 });
    expect(windows.hitBelow(8, 1000, 0)).toBeUndefined();
    expect(windows.size).toBe(1);
  });
});
