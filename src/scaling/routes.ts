/**
 * The scaling API (admin), under each of the performance prefixes: status, config, manual, history.
 * Every instance answers from the database the cluster's autoscaler writes to (src/scaling/store.ts);
 * without a live autoscaler (a single instance, or `tachyon cluster` without --autoscale) the answers
 * say so with 200 and `mode: 'single-instance'`, and a configuration is still validated and stored.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../http/access.ts';
import { PERFORMANCE_PREFIXES } from '../observability/routes.ts';
import { checkScalingConfig, MAX_INSTANCES, ScalingConfigPatch } from './config-schema.ts';
import type { ScalingStore } from './store.ts';

const admin = { access: 'admin' } as const;
const tags = ['scaling'];
const SINGLE = {
  mode: 'single-instance' as const,
  message:
    'This platform runs as a single instance: no autoscaler is running. Start it with `tachyon cluster --autoscale` (or deploy/kubernetes/ with its HPA) to scale; the configuration set here is stored and used then.',
};

export function scalingRoutes(deps: { store: ScalingStore; instanceId: string }) {
  const { store } = deps;
  async function api(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get('/scaling/status', { config: admin, schema: { tags, summary: 'Instances (starting, ready, draining) with their metrics, shards and feed leader; current and desired counts and why' } }, async () => {
      const [status, config] = await Promise.all([store.status(), store.config()]);
      if (!status) return { ...SINGLE, instance: deps.instanceId, config };
      return { mode: 'cluster', ...status, config };
    });

    app.get('/scaling/config', { config: admin, schema: { tags, summary: 'The scaling configuration: min, max, targets per metric, windows, rate limits, schedules' } }, async () => store.config());

    app.put(
      '/scaling/config',
      { config: admin, schema: { tags, summary: 'Change any part of the scaling configuration; applied at the next evaluation, no restart', body: ScalingConfigPatch } },
      async (request) => {
        const config = { ...(await store.config()), ...request.body };
        checkScalingConfig(config);
        await store.saveConfig(config);
        const live = await store.status();
        return live ? { mode: 'cluster', config, applied: 'at the next evaluation' } : { ...SINGLE, config };
      },
    );

    app.post(
      '/scaling/manual',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Set the instance count now (within min and max), with a reason recorded in the history',
          body: Type.Object({ count: Type.Integer({ minimum: 1, maximum: MAX_INSTANCES }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const live = await store.status();
        if (!live) return { ...SINGLE, requested: request.body.count };
        const config = await store.config();
        const count = Math.min(config.maxInstances, Math.max(config.minInstances, request.body.count));
        await store.requestManual({ count, reason: request.body.reason, requestedBy: principalOf(request).name });
        return reply.code(202).send({
          mode: 'cluster',
          requested: request.body.count,
          count,
          ...(count !== request.body.count ? { limitedBy: `min ${config.minInstances}, max ${config.maxInstances}` } : {}),
          current: live.current,
          message: 'Applied at the next evaluation; the event appears in the history once the instances are ready (or drained).',
        });
      },
    );

    app.get(
      '/scaling/history',
      {
        config: admin,
        schema: { tags, summary: 'Scaling events, newest first: time, from → to, trigger, metric values, duration until ready', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }, { additionalProperties: false }) },
      },
      async (request) => {
        const [events, live] = await Promise.all([store.history(request.query.limit), store.status()]);
        return live ? { mode: 'cluster', events } : { ...SINGLE, events };
      },
    );
  }
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(api, { prefix });
  };
}
