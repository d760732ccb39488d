/**
 * The scaling configuration as the API accepts it (TypeBox: Fastify validates, a 400 names the
 * field), plus the checks across fields a schema cannot express (min ≤ max, a window's start before
 * its end).
 */
import { Type, type Static, type TOptional, type TNumber } from '@fastify/type-provider-typebox';
import { BadRequestError } from '../kernel/errors.ts';
import { SCALING_METRICS, type ScalingConfig } from './hpa.ts';

/** Beyond `tachyon cluster`'s 64 local instances: the same config drives Kubernetes' HPA. */
export const MAX_INSTANCES = 1000;
const HOUR_MS = 3_600_000;

const Policy = Type.Object(
  {
    type: Type.Union([Type.Literal('instances'), Type.Literal('percent')]),
    value: Type.Integer({ minimum: 1, maximum: 1000 }),
    periodMs: Type.Integer({ minimum: 1000, maximum: HOUR_MS }),
  },
  { additionalProperties: false },
);

const Direction = Type.Object(
  {
    stabilizationWindowMs: Type.Integer({ minimum: 0, maximum: HOUR_MS }),
    policies: Type.Array(Policy, { minItems: 1, maxItems: 10 }),
    selectPolicy: Type.Union([Type.Literal('Max'), Type.Literal('Min')]),
    cooldownMs: Type.Integer({ minimum: 0, maximum: HOUR_MS }),
  },
  { additionalProperties: false },
);

const Time = (description: string) => Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$', maxLength: 5, description: `${description}, HH:MM UTC` });

const Schedule = Type.Object(
  {
    days: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, uniqueItems: true, description: '0 = Sunday, UTC' }),
    start: Time('inclusive'),
    end: Time('exclusive'),
    minInstances: Type.Integer({ minimum: 1, maximum: MAX_INSTANCES }),
  },
  { additionalProperties: false },
);

const Predictive = Type.Object(
  {
    enabled: Type.Boolean(),
    days: Type.Integer({ minimum: 1, maximum: 90, description: 'previous days to look at' }),
    minDays: Type.Integer({ minimum: 1, maximum: 90, description: 'no predicted floor from fewer days of history of the same kind (weekday or weekend)' }),
    leadMs: Type.Integer({ minimum: 0, maximum: HOUR_MS, description: 'how far ahead to look: the time a scale-up takes to serve' }),
  },
  { additionalProperties: false, description: 'a floor from the median of previous days\' demand at this minute' },
);

const Target = Type.Number({ exclusiveMinimum: 0, maximum: 1e9 });

export const ScalingConfigSchema = Type.Object(
  {
    minInstances: Type.Integer({ minimum: 1, maximum: MAX_INSTANCES }),
    maxInstances: Type.Integer({ minimum: 1, maximum: MAX_INSTANCES }),
    targets: Type.Object(Object.fromEntries(SCALING_METRICS.map((m) => [m, Type.Optional(Target)])) as Record<(typeof SCALING_METRICS)[number], TOptional<TNumber>>, {
      additionalProperties: false,
      description: 'per instance: cpu and memory as fractions of a core count and of the memory budget, eventLoopP99Ms and httpP95Ms in ms, queueDepth (the shared queue divided by the instances), websocketConnections',
    }),
    tolerance: Type.Number({ minimum: 0, maximum: 0.9 }),
    scaleUp: Direction,
    scaleDown: Direction,
    schedules: Type.Array(Schedule, { maxItems: 50 }),
    predictive: Predictive,
  },
  { additionalProperties: false },
);

/** PUT body: any subset of the fields; the others keep their stored values. */
export const ScalingConfigPatch = Type.Partial(ScalingConfigSchema);
export type ScalingConfigPatch = Static<typeof ScalingConfigPatch>;

/** The rules across fields; throws a 400 naming the field. */
export function checkScalingConfig(config: ScalingConfig): void {
  const fail = (field: string, message: string) => {
    throw new BadRequestError(`body.${field} ${message}`, { errors: [{ field: `body.${field}`, message }] });
  };
  if (config.minInstances > config.maxInstances) fail('minInstances', `must be <= maxInstances (${config.maxInstances})`);
  config.schedules.forEach((w, i) => {
    if (w.end <= w.start) fail(`schedules.${i}.end`, `must be after start (${w.start})`);
    if (w.minInstances > config.maxInstances) fail(`schedules.${i}.minInstances`, `must be <= maxInstances (${config.maxInstances})`);
  });
  if (config.predictive.minDays > config.predictive.days) fail('predictive.minDays', `must be <= predictive.days (${config.predictive.days})`);
}
