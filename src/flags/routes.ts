/**
 * Feature flags (admin): list, switch or roll out (shared by every instance and kept in the
 * database, with an audit history), reset to configuration, and experiments that compare the
 * latency of a rollout's cohort with the rest.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FeatureFlags, Rollout } from '../config/flags.ts';
import { principalOf } from '../http/access.ts';
import { BadRequestError, NotFoundError } from '../kernel/errors.ts';
import type { FlagExperiments } from './experiments.ts';
import type { FlagRollouts } from './rollouts.ts';

export interface FlagRouteDeps {
  flags: FeatureFlags;
  rollouts: FlagRollouts;
  experiments: FlagExperiments;
}

const FlagName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
const Reason = Type.String({ maxLength: 500, description: 'why (kept in the audit history)' });
/** Experiments are bounded: long enough to gather requests, short enough to be one command. */
const MAX_EXPERIMENT_MS = 3_600_000;

export function flagRoutes(deps: FlagRouteDeps) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const known = (name: string) => {
      if (!deps.flags.has(name)) throw new NotFoundError(`unknown feature flag ${name}`);
      return name;
    };

    app.get('/api/admin/flags', { config: { access: 'admin' }, schema: { tags: ['admin'], summary: 'Feature flags: one per optimization, with each one\'s rollout (mode, percent) and where its state comes from' } }, async () => ({
      flags: deps.flags.list(),
    }));

    app.put(
      '/api/admin/flags/:name',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Switch a flag on or off ({"enabled"}), or roll it out to a percentage of accounts (stable) or requests; shared by every instance within a second, kept across restarts, audited',
          params: FlagName,
          body: Type.Object(
            {
              enabled: Type.Optional(Type.Boolean()),
              mode: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('accounts'), Type.Literal('requests')])),
              percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
              reason: Type.Optional(Reason),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { enabled, mode, percent, reason } = request.body;
        let rollout: Rollout;
        if (mode === 'accounts' || mode === 'requests') {
          if (percent === undefined) throw new BadRequestError(`body.percent is required with mode ${mode}`);
          rollout = { mode, percent };
        } else if (mode !== undefined || enabled !== undefined) {
          if (enabled !== undefined && mode !== undefined && enabled !== (mode === 'on')) throw new BadRequestError('body.enabled contradicts body.mode');
          rollout = { mode: mode ?? (enabled ? 'on' : 'off'), percent: 0 };
        } else {
          throw new BadRequestError('body needs enabled, or mode (with percent for accounts and requests)');
        }
        const state = await deps.rollouts.change(known(request.params.name), rollout, { actor: principalOf(request).name, reason: reason ?? '' });
        return { name: state.name, enabled: state.enabled, source: state.source, rollout: state.rollout };
      },
    );

    app.delete(
      '/api/admin/flags/:name',
      {
        config: { access: 'admin' },
        schema: { tags: ['admin'], summary: 'Remove the shared state of a flag: it follows TACHYON_FLAGS and its default again (audited)', params: FlagName, querystring: Type.Object({ reason: Type.Optional(Reason) }) },
      },
      async (request) => {
        const state = await deps.rollouts.change(known(request.params.name), null, { actor: principalOf(request).name, reason: request.query.reason ?? '' });
        return { name: state.name, enabled: state.enabled, source: state.source, rollout: state.rollout };
      },
    );

    app.get(
      '/api/admin/flags/:name/history',
      {
        config: { access: 'admin' },
        schema: { tags: ['admin'], summary: 'Who changed a flag, when, from what to what, and why (newest first)', params: FlagName, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) },
      },
      async (request) => ({ changes: await deps.rollouts.history({ name: request.params.name, limit: request.query.limit }) }),
    );

    app.post(
      '/api/admin/flags/:name/experiments',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Turn a flag on for a percentage of accounts for a while, compare the cohorts\' latency (p50/p95/p99, Mann-Whitney U), then restore the previous state',
          params: FlagName,
          body: Type.Object(
            {
              percent: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100 }),
              durationMs: Type.Integer({ minimum: 1_000, maximum: MAX_EXPERIMENT_MS }),
              reason: Type.Optional(Reason),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const { percent, durationMs, reason } = request.body;
        const experiment = await deps.experiments.begin(known(request.params.name), { percent, durationMs, actor: principalOf(request).name, reason: reason ?? '' });
        return reply.code(202).header('location', `/api/admin/flag-experiments/${experiment.id}`).send(experiment);
      },
    );

    app.get(
      '/api/admin/flag-experiments',
      { config: { access: 'admin' }, schema: { tags: ['admin'], summary: 'Flag experiments, newest first', querystring: Type.Object({ flag: Type.Optional(Type.String({ maxLength: 100 })) }) } },
      async (request) => ({ experiments: await deps.experiments.list(request.query.flag) }),
    );

    const ExperimentId = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
    app.get(
      '/api/admin/flag-experiments/:id',
      { config: { access: 'admin' }, schema: { tags: ['admin'], summary: 'A flag experiment; `result` holds the cohorts\' comparison once it has ended', params: ExperimentId } },
      (request) => deps.experiments.get(request.params.id),
    );

    app.delete(
      '/api/admin/flag-experiments/:id',
      { config: { access: 'admin' }, schema: { tags: ['admin'], summary: 'Abort a flag experiment now: previous state restored, cohorts compared on what was recorded', params: ExperimentId } },
      (request) => deps.experiments.finish(request.params.id, 'aborted', principalOf(request).name),
    );
  };
}
