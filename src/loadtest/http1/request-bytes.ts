/**
 * Request heads serialised to bytes. A request without headers or body of its own (the usual load-test
 * GET) is the same bytes every time, so they are built once per (method, path) and written as they are.
 */
import { BadRequestError } from '../../kernel/errors.ts';

export interface RequestBytes {
  /** Head and body, ready to write. */
  readonly bytes: Buffer;
  readonly method: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Control characters (CR, LF, NUL…) would split the head: request smuggling or header injection.
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const BAD_TARGET = /[\u0000-\u0020\u007f]/;
/** Methods whose requests carry a body by definition: an empty one is announced as such. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Templates kept per origin; scenarios with unbounded distinct paths (ids in URLs) stop being cached past it. */
const MAX_TEMPLATES = 1024;

export class RequestTemplates {
  private readonly cache = new Map<string, RequestBytes>();

  /** @param host the Host header value (host[:port] of the origin). */
  constructor(private readonly host: string) {}

  build(method: string, path: string, headers: Record<string, string> | undefined, body: Buffer | undefined): RequestBytes {
    let hasHeaders = false;
    for (const _ in headers) {
      hasHeaders = true;
      break;
    }
    if (hasHeaders || body) return this.serialise(method, path, headers, body);
    const key = `${method} ${path}`;
    let cached = this.cache.get(key);
    if (!cached) {
      cached = this.serialise(method, path, undefined, undefined);
      if (this.cache.size < MAX_TEMPLATES) this.cache.set(key, cached);
    }
    return cached;
  }

  private serialise(method: string, path: string, headers: Record<string, string> | undefined, body: Buffer | undefined): RequestBytes {
    if (!TOKEN.test(method)) throw new BadRequestError(`invalid HTTP method ${JSON.stringify(method)}`);
    if (BAD_TARGET.test(path) || path === '') throw new BadRequestError(`invalid request path ${JSON.stringify(path)}`);
    let head = `${method} ${path} HTTP/1.1\r\n`;
    let host = this.host;
    for (const name in headers) {
      const value = String(headers[name]);
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new BadRequestError(`invalid header ${JSON.stringify(name)}`);
      const lower = name.toLowerCase();
      // Framing is the client's: a body's length is counted, not taken from the scenario.
      if (lower === 'content-length' || lower === 'transfer-encoding') continue;
      if (lower === 'host') host = value;
      else head += `${name}: ${value}\r\n`;
    }
    head += `host: ${host}\r\n`;
    if (body) head += `content-length: ${body.length}\r\n`;
    else if (BODY_METHODS.has(method)) head += 'content-length: 0\r\n';
    head += '\r\n';
    const headBytes = Buffer.from(head, 'latin1');
    return { bytes: body ? Buffer.concat([headBytes, body]) : headBytes, method };
  }
}
