/**
 * The glibc malloc setting every server process starts with: allocations of 32 KiB and more get a mapping
 * of their own, returned to the system when freed (a fixed threshold; glibc's default one rises after the
 * first such free, and from then on they stay in per-thread arenas that never shrink).
 *
 * Why: V8's optimizing compiles of PostgreSQL's WebAssembly (the embedded engine) build their graphs in
 * 32 KiB zone segments on its background threads; with the default they left 90-230 MiB of arenas resident
 * after the first start's history load. With this setting: ~50 MiB, and the whole process 70-140 MiB
 * smaller (docs/benchmarks.md, "Memory"). glibc reads GLIBC_TUNABLES when a process starts, so it cannot be
 * set from inside Node: `npm start`, `tachyon cluster`'s instances, the Kubernetes Deployment and the
 * benches set it in the environment of the process they start. An operator's own GLIBC_TUNABLES (even
 * empty, glibc's defaults) is kept.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768';

/** `env` with MALLOC_TUNABLES, unless it already says what glibc should do. */
export function withMallocTuning<T extends Record<string, string | undefined>>(env: T): T & { GLIBC_TUNABLES: string } {
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ?? MALLOC_TUNABLES };
}

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
