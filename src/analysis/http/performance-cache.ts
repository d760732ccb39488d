/**
 * Strategy performance is written through: a recomputation produces exactly the answer the performance
 * route serves, so the instance that computed it stores the owner's cached answer (L1, Redis and the
 * database tier; peers drop their L1 copy and find the new one in Redis) instead of dropping it, and the
 * next read is a hit with the new figures rather than a miss that reads them back. A deleted strategy's
 * copies are dropped. Only this instance's events: the computing instance writes the shared tiers once
 * per cluster.
 */
import fastJson from 'fast-json-stringify';
import type { Logger } from 'pino';
import { storeResponse, type RouteCacheSpec } from '../../cache/http/route-cache.ts';
import { tags } from '../../cache/invalidation.ts';
import type { TieredCache } from '../../cache/tiered-cache.ts';
import type { MessageBus } from '../../kernel/bus.ts';
import { PerformanceSchema } from './schemas.ts';

const PREFIX = 'strategy.';

/** The cache entry of a strategy's performance, as its owner reads it. */
export function performanceCacheSpec(userId: number, strategyId: number): Pick<RouteCacheSpec, 'cls' | 'key' | 'account' | 'tags'> {
  return { cls: 'strategyPerformance', key: `strategy:${strategyId}:performance`, account: userId, tags: [tags.strategy(strategyId)] };
}

export function wirePerformanceWriteThrough(bus: MessageBus, cache: TieredCache, logger: Logger): () => void {
  // The serializer Fastify compiles for the route's response schema (same library, same schema).
  const serialize = fastJson(PerformanceSchema);
  return bus.subscribe(`${PREFIX}*`, ({ userId, performance }, topic, remote) => {
    if (remote) return;
    const strategyId = Number(topic.slice(PREFIX.length));
    const written = performance
      ? storeResponse(cache, performanceCacheSpec(userId, strategyId), serialize(performance))
      : cache.invalidateTag(tags.strategy(strategyId), ['strategyPerformance']);
    written.catch((error: unknown) => logger.error({ err: error, topic }, 'strategy performance cache write failed'));
  });
}
