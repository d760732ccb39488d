/** POST /api/rum: the dashboard reports its field measurements (any signed-in user); GET: the percentiles (admin). */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { RUM_METRICS, RUM_PAGES, type RealUserMetrics } from './rum.ts';

const RumBody = Type.Object(
  {
    page: Type.Union(RUM_PAGES.map((p) => Type.Literal(p))),
    metrics: Type.Array(
      Type.Object(
        {
          name: Type.Union(RUM_METRICS.map((m) => Type.Literal(m))),
          // Ten minutes bounds any timing a page can report; CLS scores are far below it.
          value: Type.Number({ minimum: 0, maximum: 600_000 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 20 },
    ),
  },
  { additionalProperties: false },
);

export function rumRoutes(rum: RealUserMetrics) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['performance'];
    app.post('/api/rum', { schema: { tags, summary: 'Report Core Web Vitals measured by the dashboard in a browser', body: RumBody } }, async (request, reply) => {
      for (const metric of request.body.metrics) rum.record(request.body.page, metric.name, metric.value);
      return reply.code(204).send();
    });
    app.get('/api/rum', { config: { access: 'admin' }, schema: { tags, summary: 'Core Web Vitals percentiles per dashboard page (seconds; CLS a score)' } }, async () => rum.stats());
  };
}
