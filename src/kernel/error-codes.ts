/**
 * The error catalogue: every `code` an API problem+json may carry, with its HTTP status and its
 * message. Domain refusals (422) have a message template whose `{placeholders}` the throw site
 * fills (`unprocessable(code, params)`: the compiler checks the parameters against the template);
 * generic codes, whose message each site writes, describe it instead. The OpenAPI document lists
 * the catalogue (`x-error-codes`), and docs/architecture.md shows its table (a test compares).
 */
export interface ErrorCodeSpec {
  readonly status: number;
  /** A template (`{name}` filled by the throw site) for 422 codes; a description for generic ones. */
  readonly message: string;
}

export const ERROR_CODES = {
  // Generic: one per typed error class of errors.ts and per failure the HTTP layer maps.
  bad_request: { status: 400, message: 'the request is malformed; the detail names the field' },
  validation_failed: { status: 400, message: 'the request does not match the route schema; `errors` lists each issue' },
  unauthorized: { status: 401, message: 'a valid API token is required' },
  forbidden: { status: 403, message: 'the route is for administrators' },
  not_found: { status: 404, message: 'the resource does not exist or belongs to another user' },
  route_not_found: { status: 404, message: 'no route answers this method and path' },
  bad_url: { status: 400, message: 'the request URL is malformed (bad percent-encoding)' },
  request_timeout: { status: 408, message: 'the request (headers and body) was not received in time' },
  body_too_large: { status: 413, message: 'the request body is larger than this server accepts' },
  uri_too_long: { status: 414, message: 'a path parameter is longer than this server accepts' },
  unsupported_media_type: { status: 415, message: 'the request body has a content type the route does not accept' },
  headers_too_large: { status: 431, message: 'the request line and headers are larger than this server accepts' },
  conflict: { status: 409, message: 'the request conflicts with the current state (a duplicate, a session already running)' },
  rate_limited: { status: 429, message: 'too many requests; Retry-After says when to retry' },
  internal: { status: 500, message: 'an unexpected error, logged with the request id' },
  unavailable: { status: 503, message: 'a retryable outage (recovery, overload, ownership moving); Retry-After says when' },
  account_moving: { status: 503, message: 'the account is moving between instances and nothing was done; retry (Retry-After)' },
  database_unavailable: { status: 503, message: 'the database is unavailable; retry shortly' },
  history_loading: { status: 503, message: 'history is loading, {percent}% done: retry in {retryAfterSeconds} s' },

  // Trading: pre-trade risk checks (risk.ts) and the journal.
  unknown_symbol: { status: 422, message: 'unknown symbol {symbol}' },
  order_rate_exceeded: { status: 422, message: 'more than {limit} orders per second on account {accountId}' },
  instrument_not_tradable: { status: 422, message: '{symbol} is not tradable' },
  market_closed: { status: 422, message: 'the market is closed: only gtc limit, stop and stop-limit orders are accepted now' },
  invalid_lot_size: { status: 422, message: 'quantity {quantity} is not a multiple of the lot size {lotSize} of {symbol}' },
  invalid_tick_size: { status: 422, message: '{field} {price} is not a positive multiple of the tick size {tickSize} of {symbol}' },
  price_outside_collar: { status: 422, message: '{field} {price} is more than {collarPercent}% from the last price {last}' },
  max_notional_exceeded: { status: 422, message: 'order notional {notional} exceeds the limit {limit}' },
  max_position_exceeded: { status: 422, message: 'a position of {position} {symbol} (with open orders) exceeds the limit of {limit} shares' },
  insufficient_position: { status: 422, message: 'selling {quantity} {symbol} but only {sellable} are held and not already offered; shorting is not enabled on this account' },
  insufficient_buying_power: { status: 422, message: 'the order needs {cost} of buying power; {available} is available' },
  unstorable_value: { status: 422, message: 'order field {field} holds a value the database cannot store' },

  // Analysis.
  too_many_symbols: { status: 422, message: 'symbols lists {count} symbols; the limit is {limit}' },
  no_bars: { status: 422, message: 'no {interval} bars of {symbols} between from and to' },
  insufficient_history: { status: 422, message: 'a forecast needs at least {minimum} bars of history, {bars} available' },
  backtest_too_large: { status: 422, message: 'symbols × bars = {size} exceeds the limit of {limit}' },

  // Operations.
  profiling_too_long: { status: 422, message: 'durationMs is capped at {maxDurationMs} ms on this instance' },
  capacity_no_measurements: { status: 422, message: 'cannot read capacity measurements from {file} ({reason}): run `npm run bench:capacity` first' },
  capacity_bad_measurements: { status: 422, message: '{file} does not hold at least 3 valid load levels: run `npm run bench:capacity` again' },
  capacity_bad_mix: { status: 422, message: 'capacity mix {file}: {reason} (expected JSON with sessions, requestsPerSecond, ordersPerMinute, symbols)' },
  loadtest_guardrail: { status: 422, message: '{reason}' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
/** The codes of domain refusals (422), the only ones `UnprocessableError` accepts. */
export type UnprocessableCode = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends 422 ? C : never }[ErrorCode];

type Placeholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;
/** The parameters a code's template names (none for a fixed message). */
export type MessageParams<C extends ErrorCode> = Record<Placeholders<(typeof ERROR_CODES)[C]['message']>, string | number>;

/** Fills a code's message template. */
export function errorMessage<C extends ErrorCode>(code: C, params: MessageParams<C>): string {
  const values = params as Record<string, string | number>;
  return ERROR_CODES[code].message.replace(/\{(\w+)\}/g, (_match, name: string) => String(values[name]));
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The catalogue as the OpenAPI document lists it (`x-error-codes`). */
export function errorCodesDocument(): Record<string, { status: number; message: string }> {
  return Object.fromEntries(Object.entries(ERROR_CODES).map(([code, spec]) => [code, { status: spec.status, message: spec.message }]));
}

/** The catalogue as a Markdown table (docs/architecture.md holds a copy; a test compares them). */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.message.replace(/\|/g, '\\|')} |`);
  return ['| Code | Status | Message |', '| --- | --- | --- |', ...rows].join('\n');
}
