/**
 * RFC 9457 problem+json for every error. Typed domain errors map to their status; Fastify's own
 * client errors (validation, body too large, bad JSON, bad media type) keep their 4xx status with a
 * clear message; anything else is a 500 with a generic message and the request id — never a stack.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_ERR_RATE_LIMIT_EXCEEDED: 'rate_limited',
};

export function sendProblem(reply: FastifyReply, request: FastifyRequest, status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): FastifyReply {
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
      // A temporary refusal says when to come back (history loading, …).
      if (typeof error.details?.retryAfterSeconds === 'number') reply.header('retry-after', String(error.details.retryAfterSeconds));
      return sendProblem(reply, request, error.status, error.code, error.message, error.details);
    }
    if (error.validation) {
      const { detail, errors } = describeValidation(error.validationContext, error.validation as ValidationIssue[]);
      return sendProblem(reply, request, 400, 'validation_failed', detail, { errors });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = (error.code && FASTIFY_CODES[error.code]) ?? 'bad_request';
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
