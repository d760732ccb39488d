/**
 * The L2 wire format (src/cache/serializer.ts): frames are packed after a reserved header byte in
 * MessagePack's shared buffer, so a frame must keep its bytes while later values are encoded (small,
 * large enough to move to a new buffer, deflated).
 */
import { describe, expect, it } from 'vitest';
import { WireSerializer } from '../../src/cache/serializer.ts';

describe('L2 wire format', () => {
  it('round-trips plain and deflated frames, and a frame keeps its bytes while later values are encoded', () => {
    let compress = false;
    const serializer = new WireSerializer(1024, () => compress);
    const big = { rows: Array.from({ length: 5_000 }, (_, i) => ({ ts: i, close: 100 + i, note: 'x'.repeat(10) })) };
    const small = serializer.encode({ a: 1 });
    const copy = Buffer.from(small);
    const plainBig = serializer.encode(big);
    compress = true;
    const deflatedBig = serializer.encode(big);
    const after = serializer.encode({ b: 2 });
    expect([small[0], plainBig[0], deflatedBig[0], after[0]]).toEqual([0, 0, 1, 0]);
    expect(deflatedBig.length).toBeLessThan(plainBig.length);
    expect(small.equals(copy)).toBe(true);
    expect(serializer.decode(small)).toEqual({ a: 1 });
    expect(serializer.decode(plainBig)).toEqual(big);
    expect(serializer.decode(deflatedBig)).toEqual(big);
    expect(serializer.decode(after)).toEqual({ b: 2 });
  });
});
