/**
 * The L2 wire format: MessagePack (smaller and faster than JSON, keeps Buffers and dates), with
 * values above a threshold deflated at the fastest level. One leading byte says which, so the
 * threshold can change without invalidating what is already in Redis.
 */
import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';

const PLAIN = 0;
const DEFLATED = 1;

export class WireSerializer {
  // Plain maps, no record extension: any instance (any version) can read what another wrote.
  private readonly packr = new Packr({ useRecords: false });

  constructor(
    private readonly compressAboveBytes: number,
    private readonly compression: () => boolean,
  ) {}

  encode(value: unknown): Buffer {
    // Packed after one reserved byte, the header: no second buffer and copy per value.
    const frame = this.packr.pack(value, RESERVE_START_SPACE | 1);
    frame[0] = PLAIN;
    if (frame.length - 1 <= this.compressAboveBytes || !this.compression()) return frame;
    return Buffer.concat([HEADER_DEFLATED, deflateRawSync(frame.subarray(1), { level: constants.Z_BEST_SPEED })]);
  }

  decode(buffer: Buffer): unknown {
    const body = buffer.subarray(1);
    return this.packr.unpack(buffer[0] === DEFLATED ? inflateRawSync(body) : body);
  }
}

const HEADER_DEFLATED = Buffer.from([DEFLATED]);
