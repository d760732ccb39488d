/**
 * Keeps `process.nextTick` on V8's fast path for the life of the process.
 *
 * Node 20's nextTick queues each callback as an object literal with computed symbol keys
 * (lib/internal/process/task_queues.js). V8 records the shape each of its properties is added to in an
 * inline cache with two states only: one shape, or any (megamorphic: a runtime call per property). Those
 * shapes are held by live tick objects alone (V8's transition tree holds them weakly), so a full garbage
 * collection while the tick queue is empty frees them, the next tick builds new ones and the cache is
 * megamorphic for good: three runtime calls in every nextTick, and an HTTP request makes about six. A
 * standalone server rarely collects fully; this platform does while it starts (the embedded database
 * alone), and then its every handler paid it: nextTick was 8–12% of a cached read's main-thread CPU
 * (docs/benchmarks.md, "nextTick's shapes"). Holding one tick object keeps its shapes alive.
 *
 * Process-wide state by nature (V8's shapes belong to the isolate): taken once, through async_hooks'
 * public API, enabled for one nextTick and disabled before any other work; call it first thing.
 */
import { createHook } from 'node:async_hooks';
import { ConfigError } from './errors.ts';

let held: object | undefined;

/** Holds one tick object for the life of the process; false if node queued none (a node without them). */
export function keepTickShapes(): boolean {
  if (held) return true;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject') held ??= resource;
    },
  });
  hook.enable();
  process.nextTick(noop);
  hook.disable();
  return held !== undefined;
}

/** `TACHYON_KEEP_TICK_SHAPES`: `on` (the default) or `off`, which is there to measure what it saves (bench:http). */
export function keepTickShapesUnlessOff(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.TACHYON_KEEP_TICK_SHAPES ?? 'on';
  if (value === 'off') return false;
  if (value !== 'on') throw new ConfigError(`TACHYON_KEEP_TICK_SHAPES="${value}" is invalid: expected on or off`);
  return keepTickShapes();
}

function noop(): void {}
