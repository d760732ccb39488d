/**
 * Admin API for load tests: start (202), watch (live progress while running), results (RunResult
 * JSON, or the HTML report with ?format=html), history (newest first, cursor-paginated), cancel;
 * under /performance/tests as the brief names them and under /api/performance/tests.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../../kernel/errors.ts';
import { principalOf } from '../../http/access.ts';
import { BUILTIN_SCENARIOS } from '../builtin.ts';
import { renderHtmlReport } from '../report/html.ts';
import { PERFORMANCE_PREFIXES } from '../../observability/routes.ts';
import type { LoadTestService } from './service.ts';
import type { RunRow, RunStore } from './store.ts';

const admin = { access: 'admin' } as const;
const tags = ['load tests'];
const RunId = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });

const StartBody = Type.Object(
  {
    scenario: Type.Union(BUILTIN_SCENARIOS.map((name) => Type.Literal(name)), { description: 'built-in scenario' }),
    target: Type.Optional(Type.String({ format: 'uri', maxLength: 2048, description: 'default: this instance' })),
    duration: Type.Optional(Type.String({ maxLength: 32, description: 'e.g. 30s; overrides a constant executor' })),
    rate: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'iterations/s: runs constant-arrival-rate' })),
    vus: Type.Optional(Type.Integer({ minimum: 1 })),
    workers: Type.Optional(Type.Integer({ minimum: 1 })),
    thresholds: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.Array(Type.String({ maxLength: 200 }), { maxItems: 20 }))),
    tags: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);

const HistoryQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,15}$' })),
  },
  { additionalProperties: false },
);

const ResultsQuery = Type.Object({ format: Type.Union([Type.Literal('json'), Type.Literal('html')], { default: 'json' }) }, { additionalProperties: false });

export function loadTestRoutes(deps: { service: LoadTestService; store: RunStore }) {
  const { service, store } = deps;
  const view = (row: RunRow) => ({ ...row, progress: service.progress(row.id) ?? null, links: { self: `/api/performance/tests/${row.id}`, results: `/api/performance/tests/${row.id}/results` } });

  async function testsApi(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post('/tests', { config: admin, schema: { tags, summary: 'Start a load test (one at a time per instance; 409 while one runs)', body: StartBody } }, async (request, reply) => {
      const row = await service.start(request.body, { userId: principalOf(request).userId });
      return reply.code(202).header('location', `/api/performance/tests/${row.id}`).send(view(row));
    });

    app.get('/tests/history', { config: admin, schema: { tags, summary: 'Past and running load tests, newest first', querystring: HistoryQuery } }, async (request) => {
      const { limit, cursor } = request.query;
      const rows = await store.history(limit, cursor === undefined ? undefined : Number(cursor));
      const last = rows.at(-1);
      return { items: rows.map(view), nextCursor: rows.length === limit && last ? String(last.id) : null };
    });

    app.get('/tests/:id', { config: admin, schema: { tags, summary: 'A load test: status, live progress while running, summary when done', params: RunId } }, async (request) => {
      const row = await store.get(Number(request.params.id));
      if (!row) throw new NotFoundError(`load test ${request.params.id} not found`);
      return view(row);
    });

    app.get('/tests/:id/results', { config: admin, schema: { tags, summary: 'Full results (RunResult JSON), or the HTML report with ?format=html', params: RunId, querystring: ResultsQuery } }, async (request, reply) => {
      const result = await store.result(Number(request.params.id));
      if (!result) throw new NotFoundError(`load test ${request.params.id} has no results (unknown, still running, or it failed before running)`);
      if (request.query.format === 'html') return reply.type('text/html; charset=utf-8').send(renderHtmlReport(result));
      return result;
    });

    app.delete('/tests/:id', { config: admin, schema: { tags, summary: 'Cancel a running load test; answers once it is recorded as cancelled', params: RunId } }, async (request) => view(await service.cancel(Number(request.params.id))));
  }

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(testsApi, { prefix });
  };
}
