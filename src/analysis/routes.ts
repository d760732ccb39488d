/**
 * HTTP adapter over the analysis components, one file a resource (src/analysis/http/): strategies and
 * their performance, backtests (200 inline, 202 queued), forecasts, and the task queue. Every route
 * needs a user; strategies and tasks are scoped to their creator (another user's answer 404).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteCache } from '../cache/http/route-cache.ts';
import type { Clock } from '../kernel/clock.ts';
import { backtestRoutes } from './http/backtest-routes.ts';
import { predictionRoutes } from './http/prediction-routes.ts';
import { strategyRoutes } from './http/strategy-routes.ts';
import { taskRoutes } from './http/task-routes.ts';
import type { StrategyPerformance } from './performance.ts';
import type { AnalysisService } from './service.ts';
import type { StrategyStore } from './strategy-store.ts';
import type { TaskOwners } from './task-owners.ts';
import type { TaskQueue } from './task-queue/port.ts';

export interface AnalysisRoutesDeps {
  analysis: AnalysisService;
  performance: StrategyPerformance;
  strategies: StrategyStore;
  queue: TaskQueue;
  owners: TaskOwners;
  clock: Clock;
  cached: RouteCache;
}

export function analysisRoutes(deps: AnalysisRoutesDeps) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    await fastify.register(strategyRoutes(deps));
    await fastify.register(backtestRoutes(deps));
    await fastify.register(predictionRoutes(deps));
    await fastify.register(taskRoutes(deps));
  };
}
