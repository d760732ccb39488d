/**
 * RFC 9457 problem+json for every error. Typed domain errors map to their status; Fastify's own
 * client errors (validation, body too large, bad JSON, bad media type) keep their 4xx status with a
 * clear message; a database that is away is a 503 with Retry-After; anything else is a 500 with a
 * generic message and the request id — never a stack. Errors the HTTP parser raises before Fastify
 * has a request (headers too large, timeouts, malformed request lines) and the router's (bad
 * percent-encoding) are problem+json too.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { ErrorCode } from '../kernel/error-codes.ts';
import { TachyonError } from '../kernel/errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_ERR_RATE_LIMIT_EXCEEDED: 'rate_limited',
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

/** Seconds a client should wait before retrying when the database is away. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

export function sendProblem(reply: FastifyReply, request: FastifyRequest, status: number, code: ErrorCode, detail: string, extensions: Record<string, unknown> = {}): FastifyReply {
  const problem: Problem = {
    type: `urn:tachyon:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
    code,
    requestId: request.id,
    ...extensions,
  };
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(problem);
}

interface ValidationIssue {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "query.limit must be <= 1000" — names the field the client got wrong. */
export function describeValidation(context: string | undefined, issues: readonly ValidationIssue[]): { detail: string; errors: { field: string; message: string }[] } {
  const errors = issues.map((issue) => {
    let path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const missing = issue.params.missingProperty;
    const extra = issue.params.additionalProperty;
    if (typeof missing === 'string') path = path ? `${path}.${missing}` : missing;
    if (typeof extra === 'string') path = path ? `${path}.${extra}` : extra;
    const field = [context, path].filter(Boolean).join('.') || (context ?? 'request');
    const message =
      typeof missing === 'string' ? 'is required' : typeof extra === 'string' ? 'is not an allowed property' : (issue.message ?? 'is invalid');
    return { field, message };
  });
  const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ');
  return { detail: detail || 'The request is invalid.', errors };
}

export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof TachyonError) {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      // Typed errors take their codes from the catalogue (errors.ts).
      return sendProblem(reply, request, error.status, error.code as ErrorCode, error.message, error.details);
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      return sendProblem(reply, request, 503, 'database_unavailable', 'The database is unavailable; retry shortly.');
    }
    if (error.validation) {
      const { detail, errors } = describeValidation(error.validationContext, error.validation as ValidationIssue[]);
      return sendProblem(reply, request, 400, 'validation_failed', detail, { errors });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = (error.code ? FASTIFY_CODES[error.code] : undefined) ?? 'bad_request';
      const detail = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'The request body is larger than this server accepts.' : error.message;
      return sendProblem(reply, request, status, code, detail);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, request, 500, 'internal', 'An internal error occurred; it has been logged with this request id.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, 404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`),
  );
}

/**
 * Fastify's `frameworkErrors`: router failures (bad percent-encoding, a path parameter too long).
 * No route, so no hooks run: the caller sets the security headers.
 */
export function frameworkErrorProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode ?? 400;
  sendProblem(reply, request, status, (error.code ? FASTIFY_CODES[error.code] : undefined) ?? 'bad_request', status === 414 ? 'A path parameter is longer than this server accepts.' : 'The request URL is malformed (bad percent-encoding).');
}

/**
 * Fastify's `clientErrorHandler`: the HTTP parser failed (or a request timed out) before any
 * request object exists, so the problem is written to the socket by hand, then the socket closed.
 */
export function clientErrorProblem(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail]: [number, ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request (headers and body) was not received in time.']
      : error.code === 'HPE_HEADER_OVERFLOW' // the request line counts: an over-long URI lands here too
        ? [431, 'headers_too_large', 'The request line and headers are larger than this server accepts.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ type: `urn:tachyon:problem:${code}`, title: TITLES[status] ?? STATUS_CODES[status], status, detail, code });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
