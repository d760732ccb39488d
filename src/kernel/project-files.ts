/**
 * Where a module finds files outside its own folder, whether it runs from the TypeScript sources
 * (src/…, through tsx or vitest) or from the build (dist/src/…, on plain node): the build keeps the
 * repository's shape one level down, so `new URL('../../x', import.meta.url)` would miss by one.
 */
import { fileURLToPath } from 'node:url';

/** True in the compiled output, where modules end in .js and no TypeScript loader is registered. */
export const COMPILED = import.meta.url.endsWith('.js');

const ROOT = new URL(COMPILED ? '../../../' : '../../', import.meta.url);

/** An absolute path under the repository root (package.json, bin/, deploy/). */
export function projectPath(relativePath: string): string {
  return fileURLToPath(new URL(relativePath, ROOT));
}

/** A module named by its source file ('./worker.ts'), as the file that runs here: its .js when compiled. */
export function runnableModule(specifier: string, base: string | URL): URL {
  return new URL(COMPILED ? specifier.replace(/\.ts$/, '.js') : specifier, base);
}

/**
 * How to start a worker thread whose module is `specifier` (a .ts source): compiled, its .js; from
 * the sources, worker-bootstrap.mjs, which registers tsx in the new thread (the main thread's loader
 * does not carry over) and imports the module named in `workerData.entry`.
 */
export function workerEntry(specifier: string, base: string | URL, workerData: Record<string, unknown> = {}): { filename: URL; workerData: Record<string, unknown> } {
  if (COMPILED) return { filename: runnableModule(specifier, base), workerData };
  return { filename: new URL('./worker-bootstrap.mjs', import.meta.url), workerData: { ...workerData, entry: new URL(specifier, base).href } };
}

/**
 * `resourceLimits` for a worker thread whose JavaScript is short-lived messages (the embedded engine's
 * protocol and COPY text, the history generator's slices): V8's default young generation (16 MiB
 * semi-spaces) grew the engine thread's heap to ~45 MiB during the first start's history load, and it
 * stayed resident; 2 MiB semi-spaces held it at ~26 MiB (docs/benchmarks.md#memory).
 */
export const SMALL_YOUNG_GENERATION = { maxYoungGenerationSizeMb: 6 };
