/**
 * An opt-in glibc malloc setting for memory-capped embedded deployments: allocations of 32 KiB and more get
 * a mapping of their own, returned to the system when freed (a fixed threshold; glibc's default one rises
 * after the first such free, and from then on they stay in per-thread arenas that never shrink).
 *
 * What it saves: V8's optimizing compiles of PostgreSQL's WebAssembly (the embedded engine) build their
 * graphs in 32 KiB zone segments on background threads; with glibc's default they left 90-230 MiB of arenas
 * resident after the first start's history load, ~50 MiB with the setting: 70-140 MiB of RSS. What it costs:
 * 10-12% CPU per cached read (Node reads sockets into 64 KiB buffers, each then mapped and unmapped), so it is
 * not the default (docs/benchmarks.md, "Memory"). glibc reads GLIBC_TUNABLES when a process starts: it is set
 * in the environment of whoever starts the server (docs/operations.md).
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768';

/**
 * What this process runs with: `null` where glibc is not the C library (musl, macOS: nothing to tune),
 * else the GLIBC_TUNABLES it was started with ('' when none, glibc's defaults).
 */
export function mallocTuning(env: NodeJS.ProcessEnv = process.env): { glibcTunables: string } | null {
  return onGlibc() ? { glibcTunables: env.GLIBC_TUNABLES ?? '' } : null;
}

let glibc: boolean | undefined;
/** Asked once: a diagnostic report takes milliseconds. */
function onGlibc(): boolean {
  glibc ??= Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
  return glibc;
}
