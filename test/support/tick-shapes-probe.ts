/**
 * Run by test/kernel/tick-shapes.test.ts in a node of its own (`--allow-natives-syntax --expose-gc
 * --expose-internals`): queues ticks, collects fully while the tick queue is empty, queues more, then
 * prints V8's %DebugPrint of nextTick (its inline caches' states) to stdout and its own result, JSON, to stderr. Argument `keep`:
 * keepTickShapes() first.
 */
import { createRequire } from 'node:module';
import { keepTickShapes } from '../../src/kernel/tick-shapes.ts';

const kept = process.argv[2] === 'keep' ? keepTickShapes() : false;
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => process.nextTick(resolve));
};
await ticks(200);
await new Promise((resolve) => setTimeout(resolve, 10));
(globalThis as unknown as { gc: () => void }).gc();
await ticks(200);
// Natives syntax is not TypeScript: V8 parses it at run time, as the flag allows.
(new Function('f', '%DebugPrint(f)') as (f: unknown) => void)(process.nextTick);
const asyncHooks = createRequire(import.meta.url)('internal/async_hooks') as { initHooksExist(): boolean };
process.stderr.write(JSON.stringify({ kept, initHooks: asyncHooks.initHooksExist() }));
