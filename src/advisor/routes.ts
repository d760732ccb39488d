/**
 * Database advisor routes (admin), under each of the performance prefixes:
 * `GET /database/statements`, `GET /database/statements/:id`, `GET /database/advice`,
 * `POST /database/advice` (analyze the sampled statements now), `POST /database/advice/:id/apply`;
 * and the recommendations built on them and on the rest of the platform's live data.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { PERFORMANCE_PREFIXES } from '../observability/routes.ts';
import { principalOf } from '../http/access.ts';
import type { DatabaseAdvisor } from './advisor.ts';
import type { Recommendations } from './recommendations.ts';

const admin = { access: 'admin' } as const;
const tags = ['database advisor'];
const Id = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) });
const StatementsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }) });

export function advisorRoutes(advisor: DatabaseAdvisor) {
  async function api(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/database/statements',
      { config: admin, schema: { tags, summary: 'Top statements by total time: in-app statistics joined with pg_stat_statements', querystring: StatementsQuery } },
      async (request) => advisor.statements(request.query.limit),
    );

    app.get('/database/statements/:id', { config: admin, schema: { tags, summary: 'One statement: statistics, last plans with costly nodes, index suggestions', params: Id } }, async (request) =>
      advisor.statement(request.params.id),
    );

    app.get('/database/advice', { config: admin, schema: { tags, summary: 'Index suggestions so far, unused and duplicate indexes' } }, async () => ({
      suggestions: advisor.indexes.list(),
      ...(await advisor.indexHealth()),
    }));

    app.post('/database/advice', { config: admin, schema: { tags, summary: 'Test candidate indexes for the sampled slow statements now (HypoPG on a server that has it)' } }, async () => ({
      ...(await advisor.indexes.advise()),
      ...(await advisor.indexHealth()),
    }));

    app.post('/database/advice/:id/apply', { config: admin, schema: { tags, summary: 'Build a suggested index (CONCURRENTLY on a server) and measure the statement before and after', params: Id } }, async (request) =>
      advisor.indexes.apply(request.params.id),
    );
  }

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(api, { prefix });
  };
}

/** `GET /recommendations`, `PUT /recommendations/:id` (admin), under each of the performance prefixes. */
export function recommendationRoutes(recommendations: Recommendations) {
  async function api(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get('/recommendations', { config: admin, schema: { tags, summary: 'What to fix, from live data: evidence, expected gain, how to apply and verify, state' } }, async () => ({
      recommendations: await recommendations.list(),
    }));

    app.put(
      '/recommendations/:id',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Mark a recommendation applied or dismissed (or new again)',
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:/ -]+$' }) }),
          body: Type.Object({ state: Type.Union([Type.Literal('new'), Type.Literal('applied'), Type.Literal('dismissed')]) }, { additionalProperties: false }),
        },
      },
      async (request) => recommendations.setState(request.params.id, request.body.state, principalOf(request).name),
    );
  }

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(api, { prefix });
  };
}
