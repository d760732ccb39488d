/**
 * Edge validation that matches the database, decided here for every route's params, querystring,
 * body and headers: each request schema is hardened when its route is added, and one ajv keyword
 * (`x-storable`, registered on the server's ajv) checks what plain JSON Schema cannot.
 *
 * - Numbers are finite. ajv's coercion turns "Infinity" or "1e400" into Infinity, and its
 *   minimum/maximum skip non-finite values, so without this `limit=Infinity` passed `maximum: 1000`.
 * - Integers stay within ±Number.MAX_SAFE_INTEGER (inside int8) unless the route says narrower.
 * - Text is storable (kernel/storable.ts: no NUL, which text and jsonb refuse) and at most
 *   MAX_TEXT_LENGTH characters unless the route says otherwise; so are the keys of records.
 * - Free-form JSON (untyped values, open objects such as strategy parameters) is checked deeply and
 *   nested at most MAX_JSON_DEPTH.
 * - Dates use `Timestamp`/`EpochMs` and `parseTime`: within kernel/time-range.ts, 400 otherwise.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyServerOptions, RouteOptions } from 'fastify';
import { BadRequestError } from '../kernel/errors.ts';
import { textIssue } from '../kernel/storable.ts';
import { EARLIEST_TIME_MS, LATEST_TIME_MS, inTimeRange } from '../kernel/time-range.ts';

const STORABLE_KEYWORD = 'x-storable';
const MAX_TEXT_LENGTH = 10_000;
const MAX_JSON_DEPTH = 32;

const REQUEST_PARTS = ['params', 'querystring', 'body', 'headers'] as const;

type Schema = Record<string, unknown>;
interface Issue {
  path: string;
  message: string;
}

function textAt(text: string, path: string): Issue | undefined {
  const message = textIssue(text);
  return message === undefined ? undefined : { path, message };
}

/** `deep`: free-form JSON, walked to its leaves; otherwise one scalar the schema already typed. */
function issueOf(data: unknown, deep: boolean, path: string, depth: number): Issue | undefined {
  if (typeof data === 'number') return Number.isFinite(data) ? undefined : { path, message: 'must be a finite number' };
  if (typeof data === 'string') {
    if (deep && data.length > MAX_TEXT_LENGTH) return { path, message: `must NOT have more than ${MAX_TEXT_LENGTH} characters` };
    return textAt(data, path);
  }
  if (!deep || data === null || typeof data !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) return { path, message: `must not be nested more than ${MAX_JSON_DEPTH} levels deep` };
  for (const [key, value] of Object.entries(data)) {
    const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const issue = textAt(key, at) ?? issueOf(value, true, at, depth + 1);
    if (issue) return issue;
  }
  return undefined;
}

interface KeywordError {
  keyword: string;
  instancePath: string;
  message: string;
  params: Record<string, unknown>;
}

/** The ajv keyword: `true` checks one typed scalar, `"deep"` a free-form JSON value. */
function storable(mode: true | 'deep', data: unknown, _parent?: unknown, context?: { instancePath: string }): boolean {
  const issue = issueOf(data, mode === 'deep', context?.instancePath ?? '', 0);
  if (issue === undefined) return true;
  // ajv reads the errors only after a `false`: nothing is allocated on the passing path.
  storable.errors = [{ keyword: STORABLE_KEYWORD, instancePath: issue.path, message: issue.message, params: {} }];
  return false;
}
storable.errors = [] as KeywordError[];

type AjvPlugin = Extract<NonNullable<NonNullable<FastifyServerOptions['ajv']>['plugins']>[number], (...args: never[]) => unknown>;

/** An ajv plugin for the server's `ajv.plugins` option. */
export const storableKeyword: AjvPlugin = (ajv) => ajv.addKeyword({ keyword: STORABLE_KEYWORD, schemaType: ['boolean', 'string'], validate: storable, errors: true });

const schemaList = (value: unknown): unknown[] | undefined => (Array.isArray(value) ? value.map(harden) : undefined);
const schemaMap = (value: unknown): Schema | undefined =>
  value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([key, schema]) => [key, harden(schema)])) : undefined;

/** A copy of a JSON schema with the platform's bounds added wherever the route left them open. */
function harden(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const schema: Schema = { ...(input as Schema) };
  for (const key of ['properties', 'patternProperties'] as const) if (schema[key]) schema[key] = schemaMap(schema[key]);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const) if (schema[key]) schema[key] = schemaList(schema[key]);
  for (const key of ['additionalProperties', 'not'] as const) if (typeof schema[key] === 'object') schema[key] = harden(schema[key]);
  if (schema.items) schema.items = Array.isArray(schema.items) ? schemaList(schema.items) : harden(schema.items);

  const types = ([] as unknown[]).concat(schema.type ?? []);
  const fixed = 'const' in schema || 'enum' in schema;
  if (types.includes('integer')) {
    if (schema.minimum === undefined && schema.exclusiveMinimum === undefined) schema.minimum = -Number.MAX_SAFE_INTEGER;
    if (schema.maximum === undefined && schema.exclusiveMaximum === undefined) schema.maximum = Number.MAX_SAFE_INTEGER;
  }
  if (types.includes('string') && !fixed) schema.maxLength ??= MAX_TEXT_LENGTH;
  if (types.includes('object') && (schema.patternProperties || typeof schema.additionalProperties === 'object')) {
    schema.propertyNames ??= { maxLength: 200, [STORABLE_KEYWORD]: true };
  }
  const scalar = types.some((t) => t === 'integer' || t === 'number' || t === 'string');
  const untyped = types.length === 0 && !schema.anyOf && !schema.oneOf && !schema.allOf && !fixed;
  // An object that takes any property (`additionalProperties` true or absent) carries free-form JSON.
  const open = types.includes('object') && (schema.additionalProperties === undefined || schema.additionalProperties === true);
  if (scalar && !fixed) schema[STORABLE_KEYWORD] = true;
  else if (untyped || open) schema[STORABLE_KEYWORD] = 'deep';
  return schema;
}

/** The `onRoute` step: hardens the request parts of a route's schema (responses are ours). */
export function hardenRoute(route: RouteOptions): void {
  const schema = route.schema as Record<string, unknown> | undefined;
  if (!schema) return;
  const hardened: Record<string, unknown> = { ...schema };
  for (const part of REQUEST_PARTS) if (schema[part]) hardened[part] = harden(schema[part]);
  route.schema = hardened;
}

// ---- dates ----------------------------------------------------------------------------------

const RANGE = `between ${new Date(EARLIEST_TIME_MS).toISOString().slice(0, 10)} and ${new Date(LATEST_TIME_MS).toISOString().slice(0, 10)}`;

/** Epoch milliseconds within the documented range. */
export const EpochMs = (description = 'epoch milliseconds') =>
  Type.Integer({ minimum: EARLIEST_TIME_MS, maximum: LATEST_TIME_MS, description: `${description} (${RANGE})` });

/** A date a client sends: epoch milliseconds or an ISO 8601 date-time, within the documented range. */
export const Timestamp = (description = 'epoch milliseconds or an ISO 8601 date-time') =>
  Type.Union([Type.Integer({ minimum: EARLIEST_TIME_MS, maximum: LATEST_TIME_MS }), Type.String({ format: 'date-time', maxLength: 40 })], {
    description: `${description} (${RANGE})`,
  });

/** Epoch ms of a `Timestamp`; an unparseable or out-of-range date is a 400 naming the field. */
export function parseTime(value: number | string, field: string): number {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!inTimeRange(ms)) throw new BadRequestError(`${field} must be a date ${RANGE} (epoch milliseconds or ISO 8601)`, { field });
  return ms;
}
