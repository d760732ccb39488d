/**
 * The rollout API (admin), under each performance prefix: start a canary or blue-green rollout, follow
 * it, promote or abort it, and the history. Any instance answers from the database; the rollout runs in
 * the `tachyon cluster` process's controller, which picks it up within a second. Without a controller
 * (a single instance, or no cluster on this database) starting one is refused with 409.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../http/access.ts';
import { BadRequestError, ConflictError } from '../kernel/errors.ts';
import { PERFORMANCE_PREFIXES } from '../observability/routes.ts';
import { DEFAULT_ANALYSIS } from './analysis.ts';
import { VERSION_ENV } from './cluster-pool.ts';
import type { RolloutStore } from './store.ts';
import type { RolloutSpec } from './types.ts';

const admin = { access: 'admin' } as const;
const tags = ['rollouts'];
export const DEFAULT_STEPS = [5, 25, 50, 100];

export const StartRollout = Type.Object(
  {
    strategy: Type.Union([Type.Literal('canary'), Type.Literal('blue-green')], { default: 'canary' }),
    version: Type.Object(
      {
        dir: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Another checkout or build directory on the cluster host (holding bin/tachyon.js); absent: this installation' })),
        env: Type.Record(Type.String({ pattern: VERSION_ENV.source, maxLength: 100 }), Type.String({ maxLength: 2000 }), { additionalProperties: false, default: {}, description: 'TACHYON_* and LOG_LEVEL overrides of the new version' }),
        label: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    steps: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { minItems: 1, maxItems: 20, default: DEFAULT_STEPS, description: 'Canary traffic share per step, percent, ascending, ending at 100' }),
    stepSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60, description: 'Analysis window per step' }),
    warmupSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30, description: 'Traffic at the first step before its analysis opens: a fresh process is slower until its JIT, caches and account shards warm up' }),
    maxWindows: Type.Integer({ minimum: 1, maximum: 20, default: 3, description: 'Windows a step may take while the canary has too little traffic to judge' }),
    canaryInstances: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
    analysis: Type.Object(
      {
        alpha: Type.Number({ exclusiveMinimum: 0, maximum: 0.5, default: DEFAULT_ANALYSIS.alpha }),
        minSuperiority: Type.Number({ minimum: 0.5, maximum: 1, default: DEFAULT_ANALYSIS.minSuperiority }),
        minRatio: Type.Number({ minimum: 1, maximum: 100, default: DEFAULT_ANALYSIS.minRatio }),
        minRequests: Type.Integer({ minimum: 1, maximum: 1_000_000, default: DEFAULT_ANALYSIS.minRequests }),
        minLoopDelayIncrease: Type.Number({ minimum: 0, maximum: 10, default: DEFAULT_ANALYSIS.minLoopDelayIncrease, description: 'Seconds the canary median event-loop delay p99 must exceed the stable one by to fail' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

const Id = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export function rolloutSpec(body: Static<typeof StartRollout>): RolloutSpec {
  const { steps } = body;
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!) || steps.at(-1) !== 100) throw new BadRequestError(`steps must be ascending and end at 100 (got ${steps.join(', ')})`);
  return {
    version: body.version,
    steps,
    stepSeconds: body.stepSeconds,
    warmupSeconds: body.warmupSeconds,
    maxWindows: body.maxWindows,
    canaryInstances: body.canaryInstances,
    analysis: { ...DEFAULT_ANALYSIS, ...body.analysis },
  };
}

export function rolloutRoutes(deps: { store: RolloutStore }) {
  const { store } = deps;
  async function api(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post('/rollouts', { config: admin, schema: { tags, summary: 'Start a canary (weighted steps, each analysed against the stable instances) or blue-green rollout on `tachyon cluster`', body: StartRollout } }, async (request, reply) => {
      const spec = rolloutSpec(request.body);
      const controller = await store.controller();
      if (!controller) throw new ConflictError('no rollout controller runs against this database: start the cluster with `tachyon cluster` (rollouts change which instances HAProxy sends traffic to)');
      const rollout = await store.create(request.body.strategy, spec, principalOf(request).name);
      return reply.code(202).send({ ...rollout, stable: controller.stable });
    });

    app.get(
      '/rollouts',
      { config: admin, schema: { tags, summary: 'Rollouts, newest first (the history), and whether a controller runs', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) }, { additionalProperties: false }) } },
      async (request) => {
        const [rollouts, controller] = await Promise.all([store.list(request.query.limit), store.controller()]);
        return { controller: controller ?? null, rollouts };
      },
    );

    app.get('/rollouts/:id', { config: admin, schema: { tags, summary: 'A rollout: status, traffic share, each step with its analysis (every metric with its numbers), outcome and reason', params: Id } }, async (request) =>
      store.get(request.params.id),
    );

    for (const action of ['promote', 'abort'] as const) {
      app.post(
        `/rollouts/:id/${action}`,
        {
          config: admin,
          schema: {
            tags,
            summary: action === 'promote' ? 'Promote now: skip the remaining steps (canary) or stop the old set (blue-green)' : 'Abort: all traffic back to the stable instances, the new ones drained and stopped',
            params: Id,
          },
        },
        async (request, reply) => reply.code(202).send(await store.requestAction(request.params.id, action, principalOf(request).name)),
      );
    }
  }
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(api, { prefix });
  };
}
