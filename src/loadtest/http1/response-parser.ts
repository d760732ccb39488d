/**
 * Incremental HTTP/1.1 response parser for the load generator's client: status line, headers, and a
 * body framed by content-length, chunked transfer coding or the connection's close. Bytes arrive in any
 * split; informational (1xx) responses are skipped. Only what a client needs: no request parsing,
 * no pipelining (one response is expected per request written).
 */

export type ResponseHeaders = Record<string, string | string[]>;

/** What the parser reports, in order: one head, body chunks, one end, per response. */
export interface ResponseSink {
  /** `head`: the header lines as received, for `parseHeaders` when someone reads them. */
  onHead(status: number, head: string): void;
  onBody(chunk: Buffer): void;
  /** `keepAlive`: the connection may carry another request. */
  onEnd(keepAlive: boolean): void;
}

export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Idle,
}

export class ResponseParser {
  private state = State.Idle;
  /** Start of a head or a chunk-size/trailer line split across reads. */
  private pending: Buffer | undefined;
  private remaining = 0;
  private keepAlive = true;
  private noBody = false;
  private discard = false;

  constructor(private readonly sink: ResponseSink) {}

  /**
   * Arms the parser for the response to a request just written (`noBody`: a HEAD request; `discard`:
   * body bytes are framed but not handed to the sink).
   */
  expect(noBody: boolean, discard = false): void {
    this.state = State.Head;
    this.pending = undefined;
    this.noBody = noBody;
    this.discard = discard;
  }

  /** True while a response is expected or in progress. */
  get busy(): boolean {
    return this.state !== State.Idle;
  }

  /** True when the body runs to the connection's close, which then ends it (see `finish`). */
  get endsAtClose(): boolean {
    return this.state === State.UntilClose;
  }

  /** The connection closed: ends a close-delimited body. */
  finish(): void {
    if (this.state !== State.UntilClose) return;
    this.state = State.Idle;
    this.sink.onEnd(false);
  }

  /** Throws HttpParseError on a malformed response, or on bytes when none is expected. */
  feed(data: Buffer): void {
    let buf = data;
    let at = 0;
    while (at < buf.length) {
      switch (this.state) {
        case State.Idle:
          throw new HttpParseError('response bytes with no request outstanding');
        case State.Head: {
          if (this.pending) {
            buf = Buffer.concat([this.pending, buf.subarray(at)]);
            at = 0;
            this.pending = undefined;
          }
          const end = buf.indexOf(CRLFCRLF, at);
          if (end < 0) {
            if (buf.length - at > MAX_HEAD_BYTES) throw new HttpParseError('response head larger than 64 KiB');
            this.pending = buf.subarray(at);
            return;
          }
          this.head(buf.toString('latin1', at, end));
          at = end + 4;
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - at);
          if (!this.discard) this.sink.onBody(buf.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.end();
          break;
        }
        case State.UntilClose:
          if (!this.discard) this.sink.onBody(at === 0 ? buf : buf.subarray(at));
          return;
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - at);
          if (n > 0 && !this.discard) this.sink.onBody(buf.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkDataEnd:
          // The CRLF after a chunk's data, possibly split across reads.
          if (buf[at] !== (this.remaining === 2 ? 0x0d : 0x0a)) throw new HttpParseError('missing CRLF after chunk data');
          at++;
          if (--this.remaining === 0) this.state = State.ChunkSize;
          break;
        case State.ChunkSize:
        case State.Trailers: {
          const line = this.line(buf, at);
          if (line === undefined) return;
          at = line.next;
          if (this.state === State.Trailers) {
            if (line.text === '') this.end();
          } else {
            const size = parseChunkSize(line.text);
            if (size === 0) this.state = State.Trailers;
            else {
              this.state = State.ChunkData;
              this.remaining = size;
            }
          }
          break;
        }
      }
    }
  }

  /** One CRLF-terminated line from `at`, or undefined (kept pending) when it is not complete yet. */
  private line(data: Buffer, at: number): { text: string; next: number } | undefined {
    let buf = data;
    let from = at;
    if (this.pending) {
      buf = Buffer.concat([this.pending, buf.subarray(at)]);
      from = 0;
      this.pending = undefined;
    }
    const eol = buf.indexOf('\r\n', from, 'latin1');
    if (eol < 0) {
      if (buf.length - from > MAX_HEAD_BYTES) throw new HttpParseError('chunk-size or trailer line larger than 64 KiB');
      this.pending = buf.subarray(from);
      return undefined;
    }
    // With a pending prefix the line's end is counted in the joined buffer: map it back onto `data`.
    const next = data.length - (buf.length - (eol + 2));
    return { text: buf.toString('latin1', from, eol), next };
  }

  private head(text: string): void {
    // "HTTP/1.x SSS reason"
    if (!text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 0x20) throw new HttpParseError(`malformed status line: ${JSON.stringify(text.slice(0, 40))}`);
    const status = Number(text.slice(9, 12));
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new HttpParseError(`malformed status code in ${JSON.stringify(text.slice(0, 40))}`);
    const http10 = text.charCodeAt(7) === 0x30;
    let contentLength: number | undefined;
    let chunked = false;
    let connection = '';
    // Only the framing headers are read here; the rest are parsed if the scenario asks (parseHeaders).
    let from = text.indexOf('\r\n');
    while (from >= 0) {
      const start = from + 2;
      const eol = text.indexOf('\r\n', start);
      const end = eol < 0 ? text.length : eol;
      from = eol;
      const colon = text.indexOf(':', start) - start;
      if (colon <= 0 || colon >= end - start) throw new HttpParseError(`malformed header line: ${JSON.stringify(text.slice(start, Math.min(end, start + 40)))}`);
      if (colon !== 10 && colon !== 14 && colon !== 17) continue;
      const name = text.slice(start, start + colon).toLowerCase();
      const value = text.slice(start + colon + 1, end);
      if (name === 'content-length') {
        const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(n) || (contentLength !== undefined && n !== contentLength)) throw new HttpParseError(`invalid content-length ${JSON.stringify(value.trim())}`);
        contentLength = n;
      } else if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
      else if (name === 'connection') connection += `${value.toLowerCase()},`;
    }
    if (status < 200) {
      if (status === 101) throw new HttpParseError('101 Switching Protocols is not supported on a load-test HTTP connection');
      return; // 1xx: informational; the final response follows on the same connection
    }
    this.keepAlive = http10 ? /(?:^|,)\s*keep-alive\s*,/.test(connection) : !/(?:^|,)\s*close\s*,/.test(connection);
    this.sink.onHead(status, text);
    if (this.noBody || status === 204 || status === 304) this.end();
    else if (chunked) this.state = State.ChunkSize;
    else if (contentLength !== undefined) {
      this.remaining = contentLength;
      if (contentLength === 0) this.end();
      else this.state = State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }

  private end(): void {
    this.state = State.Idle;
    this.sink.onEnd(this.keepAlive);
  }
}

function parseChunkSize(line: string): number {
  const semi = line.indexOf(';');
  const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
  if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new HttpParseError(`invalid chunk size ${JSON.stringify(line.slice(0, 40))}`);
  return Number.parseInt(hex, 16);
}

/** Header lines of a response head (status line first) as an object: lower-case names, repeated ones as arrays. */
export function parseHeaders(head: string): ResponseHeaders {
  const headers: ResponseHeaders = {};
  let from = head.indexOf('\r\n');
  while (from >= 0) {
    const eol = head.indexOf('\r\n', from + 2);
    const line = eol < 0 ? head.slice(from + 2) : head.slice(from + 2, eol);
    from = eol;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const seen = headers[name];
    headers[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return headers;
}
