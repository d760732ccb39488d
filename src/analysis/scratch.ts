/**
 * Reusable work buffers, so running a strategy over thousands of symbols allocates its indicator
 * arrays once (grown to the longest series) instead of once per symbol. One Scratch per thread;
 * buffers handed out are only valid until the next call for the same slot.
 */
export class Scratch {
  private readonly floats: Float64Array[] = [];
  private ints = new Int32Array(0);
  private signals = new Int8Array(0);

  f64(slot: number, length: number): Float64Array {
    let buf = this.floats[slot];
    if (!buf || buf.length < length) this.floats[slot] = buf = new Float64Array(grow(buf?.length ?? 0, length));
    return buf.subarray(0, length);
  }

  i32(length: number): Int32Array {
    if (this.ints.length < length) this.ints = new Int32Array(grow(this.ints.length, length));
    return this.ints;
  }

  i8(length: number): Int8Array {
    if (this.signals.length < length) this.signals = new Int8Array(grow(this.signals.length, length));
    return this.signals.subarray(0, length);
  }
}

function grow(current: number, needed: number): number {
  return Math.max(needed, current * 2);
}
