/**
 * The L2 wire format: MessagePack (smaller and faster than JSON, keeps Buffers and dates), with
 * values above a threshold deflated at the fastest level. One leading byte says which, so the
 * threshold can change without invalidating what is already in Redis.
 */
import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import { Packr } from 'msgpackr';

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
    const packed = this.packr.pack(value);
    if (packed.length <= this.compressAboveBytes || !this.compression()) return Buffer.concat([HEADER_PLAIN, packed]);
    return Buffer.concat([HEADER_DEFLATED, deflateRawSync(packed, { level: constants.Z_BEST_SPEED })]);
  }

  decode(buffer: Buffer): unknown {
    const body = buffer.subarray(1);
    return this.packr.unpack(buffer[0] === DEFLATED ? inflateRawSync(body) : body);
  }
}

const HEADER_PLAIN = Buffer.from([PLAIN]);
const HEADER_DEFLATED = Buffer.from([DEFLATED]);
