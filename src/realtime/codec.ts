/**
 * Frame encoding on the server. A published event is encoded once per format however many
 * connections receive it (`Outgoing` caches its JSON text and MessagePack bytes); a batch frame is
 * then a concatenation of those pieces behind a precomputed header, so per-connection work is a
 * copy, not a serialization.
 */
import { Packr, unpack } from 'msgpackr';
import type { ChannelMessage, Format, ServerFrame } from './protocol.ts';

// Plain MessagePack maps (no record extension), so any MessagePack library can decode our frames.
const packr = new Packr({ useRecords: false });

export class Outgoing {
  private json: string | undefined;
  private packed: Buffer | undefined;

  /** `ts` is when the event happened (the tick's timestamp), for tick-to-send latency. */
  constructor(
    readonly message: ChannelMessage,
    readonly ts: number,
  ) {}

  jsonText(): string {
    return (this.json ??= JSON.stringify(this.message));
  }

  msgpack(): Buffer {
    return (this.packed ??= packr.pack(this.message));
  }
}

export interface Codec {
  readonly format: Format;
  encode(frame: ServerFrame): string | Buffer;
  /** One `{type:'batch', messages}` frame from already encoded messages. */
  batch(messages: readonly Outgoing[]): string | Buffer;
}

const JSON_BATCH_HEAD = '{"type":"batch","messages":[';

export const jsonCodec: Codec = {
  format: 'json',
  encode: (frame) => JSON.stringify(frame),
  batch(messages) {
    let text = JSON_BATCH_HEAD;
    for (let i = 0; i < messages.length; i++) text += (i === 0 ? '' : ',') + messages[i]!.jsonText();
    return text + ']}';
  },
};

// The encoding of {type:'batch', messages:[]} without its empty-array byte: the array header follows.
const PACKED_BATCH_HEAD = packr.pack({ type: 'batch', messages: [] }).subarray(0, -1);

export const msgpackCodec: Codec = {
  format: 'msgpack',
  encode: (frame) => packr.pack(frame),
  batch(messages) {
    const n = messages.length;
    const parts = new Array<Buffer>(n);
    let size = 0;
    for (let i = 0; i < n; i++) size += (parts[i] = messages[i]!.msgpack()).length;
    const headerSize = n < 16 ? 1 : n < 0x10000 ? 3 : 5;
    const out = Buffer.allocUnsafe(PACKED_BATCH_HEAD.length + headerSize + size);
    let at = PACKED_BATCH_HEAD.copy(out, 0);
    if (n < 16) {
      out[at++] = 0x90 | n; // fixarray
    } else if (n < 0x10000) {
      out[at++] = 0xdc; // array 16
      at = out.writeUInt16BE(n, at);
    } else {
      out[at++] = 0xdd; // array 32
      at = out.writeUInt32BE(n, at);
    }
    for (const part of parts) at += part.copy(out, at);
    return out;
  },
};

export function codecFor(format: Format): Codec {
  return format === 'msgpack' ? msgpackCodec : jsonCodec;
}

/** Decodes a client frame by its framing (binary = MessagePack, text = JSON); throws on malformed input. */
export function decodeClientFrame(data: Buffer, isBinary: boolean): unknown {
  return isBinary ? unpack(data) : JSON.parse(data.toString('utf8'));
}
