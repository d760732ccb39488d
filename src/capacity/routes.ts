/**
 * `GET /performance/capacity` (admin): the capacity plan for a load, from the USL fitted to the latest
 * `npm run bench:capacity` measurements (422 until there are some).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { PERFORMANCE_PREFIXES } from '../observability/routes.ts';
import { loadMeasurements } from './measurements.ts';
import { planCapacity } from './plan.ts';

const Query = Type.Object(
  {
    users: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
    requestsPerUser: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, description: 'requests per user per second' }),
    targetP95Ms: Type.Number({ exclusiveMinimum: 0, maximum: 600_000, default: 100 }),
    headroom: Type.Number({ minimum: 0, maximum: 0.95, default: 0.3 }),
  },
  { additionalProperties: false },
);

export function capacityRoutes(measurementsFile?: string) {
  async function api(fastify: FastifyInstance): Promise<void> {
    fastify.withTypeProvider<TypeBoxTypeProvider>().get(
      '/capacity',
      { config: { access: 'admin' }, schema: { tags: ['capacity'], summary: 'Instances, cores, memory, connections for a load, from the USL fitted to measurements', querystring: Query } },
      async (request) => {
        const measurements = loadMeasurements(measurementsFile);
        const q = request.query;
        const question = { users: q.users, requestsPerUserPerSecond: q.requestsPerUser, targetP95Ms: q.targetP95Ms, headroom: q.headroom };
        return { question, answer: planCapacity(measurements.profile, question), fit: measurements.profile.fit, measured: measurements.date, points: measurements.points };
      },
    );
  }
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(api, { prefix });
  };
}
