/**
 * fast-check arbitraries for HTTP requests generated from the platform's OpenAPI document: values
 * that follow each parameter's and body's schema, mixed with hostile ones (infinities, huge and
 * negative numbers, out-of-range dates, NUL and lone surrogates, huge strings, deep JSON,
 * prototype-pollution keys, forged cursors, wrong content types, malformed JSON).
 */
import fc from 'fast-check';

type Schema = Record<string, unknown>;

export interface Operation {
  method: string;
  /** OpenAPI path template, e.g. /api/orders/{id}. */
  path: string;
  parameters: { in: 'path' | 'query' | 'header'; name: string; required: boolean; schema: Schema }[];
  body: Schema | undefined;
}

export interface GeneratedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload: string | undefined;
}

/** The operations of an OpenAPI 3 document. */
export function operationsOf(doc: { paths: Record<string, Record<string, { parameters?: Operation['parameters']; requestBody?: { content: Record<string, { schema: Schema }> } }>> }): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content['application/json']?.schema,
    })),
  );
}

/** A number JSON cannot spell with JSON.stringify (1e400, -1e400, NaN as a bare token): written raw. */
class RawNumber {
  constructor(readonly text: string) {}
}

const RAW = /"@@raw:([^"@]*)@@"/g;
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof RawNumber ? `@@raw:${v.text}@@` : v)).replace(RAW, '$1');
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const deep = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
};

/** Hostile text, as a query or path value would carry it. */
const HOSTILE_TEXT = [
  'Infinity', '-Infinity', 'NaN', '1e400', '-1e400', '-1', '0', '1.5', '9007199254740993', '99999999999999999999', '-9223372036854775809',
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\u{1F600}', 'x'.repeat(20_000), '__proto__', 'constructor', 'true', 'null', '[]', '{}',
  '0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00.001Z', '9999-12-31T23:59:59Z', '1969-12-31T23:59:59Z', '8640000000000001', '-8640000000000001',
  'AAAA', base64url('9007199254740991:1'), base64url('1:2:3'), base64url('-1:-1'), base64url('8640000000000000:1'), base64url('\u0000'), 'not base64 !!',
  "' OR 1=1 --", '../../etc/passwd', '%00', '%',
];

const HOSTILE_NUMBERS = [
  new RawNumber('1e400'), new RawNumber('-1e400'), new RawNumber('1e-400'), new RawNumber('-0'), new RawNumber('123456789012345678901234567890'),
  -1, 0, 0.5, 1e-7, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e19, 1e300, -1e300, 8.64e15 + 1, 4102444800000,
];

function hostileJson(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...HOSTILE_NUMBERS),
    fc.constantFrom(...HOSTILE_TEXT),
    fc.constantFrom<unknown>(null, true, [], {}, deep(40), deep(2_000), ['x'.repeat(20_000)]),
    fc.constant(JSON.parse('{"__proto__":{"isAdmin":true,"role":"admin"},"constructor":{"prototype":{"polluted":true}}}')),
    fc.constant({ ['a\u0000b']: 1, ['\ud800']: 'x', ['k'.repeat(500)]: 2 }),
  );
}

/** Values a route might accept, by parameter or property name (a random symbol is never a real one). */
const HINTS: Record<string, fc.Arbitrary<unknown>> = {
  symbol: fc.constantFrom('AAPL', 'MSFT', 'aapl', 'ZZZZZZ'),
  symbols: fc.array(fc.constantFrom('AAPL', 'MSFT', 'KO'), { minLength: 1, maxLength: 3 }),
  cursor: fc.constantFrom(base64url('1700000000000:1'), base64url('1'), 'AAAA'),
};

const DATE = fc.date({ min: new Date(0), max: new Date(Date.UTC(2099, 11, 31)), noInvalidDate: true });

/** A value that follows the schema (as far as a generator reasonably can). */
function validJson(schema: Schema, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
  const hint = name !== undefined ? HINTS[name] : undefined;
  if (hint) return hint;
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union) return fc.oneof(...union.map((s) => valueOf(s, name, depth)));
  const type = Array.isArray(schema.type) ? (schema.type[0] as string) : (schema.type as string | undefined);
  const num = (key: string, fallback: number) => (typeof schema[key] === 'number' ? (schema[key] as number) : fallback);
  switch (type) {
    case 'integer': {
      const min = Math.max(num('minimum', -1e6), -(2 ** 31));
      const max = Math.min(num('maximum', 1e6), 2 ** 31 - 1);
      return fc.oneof(fc.integer({ min: Math.min(min, max), max }), fc.constantFrom(num('minimum', 0), num('maximum', 0)));
    }
    case 'number':
      return fc.double({ min: num('minimum', -1e6), max: num('maximum', 1e6), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string': {
      const maxLength = Math.min(num('maxLength', 40), 40);
      const minLength = Math.min(num('minLength', 0), maxLength);
      if (schema.format === 'date-time') return DATE.map((d) => d.toISOString());
      if (schema.format === 'uri') return fc.constantFrom('http://127.0.0.1:1/', 'http://user:pass@127.0.0.1:1/');
      if (typeof schema.pattern === 'string') return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= num('maxLength', 10_000));
      return fc.string({ minLength, maxLength });
    }
    case 'array': {
      const item = (schema.items as Schema | undefined) ?? {};
      return fc.array(valueOf(item, undefined, depth + 1), { minLength: Math.min(num('minItems', 0), 3), maxLength: Math.min(num('maxItems', 3), 3) });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      if (depth > 3 || Object.keys(properties).length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
      const record = fc.record(Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, valueOf(s, key, depth + 1)])), {
        requiredKeys: required.filter((key) => key in properties),
      });
      // Sometimes a property the schema does not know.
      return fc.oneof({ weight: 4, arbitrary: record }, { weight: 1, arbitrary: record.map((r) => ({ ...r, unexpected: 'x' })) });
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** Mostly schema-shaped values, sometimes hostile ones. */
function valueOf(schema: Schema, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: validJson(schema, name, depth) }, { weight: 1, arbitrary: hostileJson() });
}

/** Text a URL carries for a value; hostile text is sent as is (percent-encoded where it can be). */
function urlText(value: unknown): string {
  const text = typeof value === 'string' ? value : value instanceof RawNumber ? value.text : Array.isArray(value) ? value.join(',') : (JSON.stringify(value) ?? '');
  // A lone surrogate has no UTF-8 form, so no URL can carry one (bodies do, as JSON escapes).
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

/** Path segments stay within the router's parameter length (a longer one is a parser error, not the route's input). */
const MAX_PATH_PARAM = 100;

function urlValue(schema: Schema, name: string, where: 'path' | 'query' | 'header'): fc.Arbitrary<string> {
  const hostile = HOSTILE_TEXT.map(urlText).filter((text) => where !== 'path' || text.length <= MAX_PATH_PARAM);
  return fc.oneof({ weight: 3, arbitrary: validJson(schema, name, 0).map(urlText) }, { weight: 1, arbitrary: fc.constantFrom(...hostile) });
}

/** A body as sent on the wire: mostly JSON, sometimes malformed or of another media type. */
function bodyOf(schema: Schema): fc.Arbitrary<{ payload: string; contentType: string }> {
  const json = valueOf(schema, undefined, 0).map((v) => ({ payload: toJson(v), contentType: 'application/json' }));
  const wrong = fc.oneof(
    json.map((b) => ({ ...b, contentType: 'text/plain' })),
    json.map((b) => ({ ...b, contentType: 'application/x-www-form-urlencoded' })),
    json.map((b) => ({ ...b, contentType: 'application/json; charset=latin1' })),
    fc.constantFrom('{"a":', '', 'null', '[1,2', '{"quantity":NaN}', '{"quantity":Infinity}', '\u0000', '{"a":"\\ud800"}', '{"a":"\\u0000"}').map((payload) => ({ payload, contentType: 'application/json' })),
  );
  return fc.oneof({ weight: 5, arbitrary: json }, { weight: 1, arbitrary: wrong });
}

/** Requests for one operation, sent with the given Authorization header. */
export function requestsFor(op: Operation, authorization: fc.Arbitrary<string>): fc.Arbitrary<GeneratedRequest> {
  const params = Object.fromEntries(
    op.parameters.map((p) => [`${p.in}:${p.name}`, p.required || p.in === 'path' ? urlValue(p.schema, p.name, p.in) : fc.option(urlValue(p.schema, p.name, p.in), { nil: undefined })]),
  );
  return fc.record({ params: fc.record(params), body: op.body ? fc.option(bodyOf(op.body), { freq: 8, nil: undefined }) : fc.constant(undefined), authorization }).map(({ params: values, body, authorization: auth }) => {
    let url = op.path;
    const query: string[] = [];
    const headers: Record<string, string> = { authorization: auth };
    for (const p of op.parameters) {
      const value = values[`${p.in}:${p.name}`] as string | undefined;
      if (value === undefined) continue;
      if (p.in === 'path') url = url.replace(`{${p.name}}`, value || '%20');
      else if (p.in === 'query') query.push(`${p.name}=${value}`);
      else headers[p.name] = decodeURIComponent(value);
    }
    if (body) headers['content-type'] = body.contentType;
    return { method: op.method, url: query.length ? `${url}?${query.join('&')}` : url, headers, payload: body?.payload };
  });
}
