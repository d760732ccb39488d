/**
 * glibc's mmap threshold, fixed at 32 KiB by the embedded default at start: allocations of 32 KiB and more get
 * a mapping of their own, returned to the system when freed. glibc's own threshold is dynamic: it rises after
 * the first free of such a mapping, and from then on those blocks stay in per-thread arenas that never shrink.
 *
 * Why: V8's optimizing compiles of PostgreSQL's WebAssembly (the embedded engine) build their graphs in 32 KiB
 * zone segments on background threads; with glibc's default they left 90-230 MiB of arenas resident once a first
 * start had loaded its history, ~50 MiB with the threshold fixed (docs/benchmarks.md, "Memory"). A scaled
 * instance (PostgreSQL server) compiles no WebAssembly and keeps glibc's default.
 *
 * Set with `mallopt(M_MMAP_THRESHOLD)` through koffi (a maintained FFI library; Node has no binding), because
 * glibc reads GLIBC_TUNABLES only when a process starts and re-executing the server to set it would leave a
 * second process. Equivalent, for those who start the process themselves: `GLIBC_TUNABLES=` + MALLOC_TUNABLES.
 */
export const MALLOC_MMAP_THRESHOLD_BYTES = 32 * 1024;
export const MALLOC_TUNABLES = `glibc.malloc.mmap_threshold=${MALLOC_MMAP_THRESHOLD_BYTES}`;
/** The largest threshold glibc accepts on 64-bit systems (HEAP_MAX_SIZE / 2). */
export const MALLOC_MMAP_THRESHOLD_MAX_BYTES = 32 * 2 ** 20;
/** `M_MMAP_THRESHOLD` in glibc's <malloc.h>. */
const M_MMAP_THRESHOLD = -3;

/**
 * The threshold this process set (undefined: none). The C library's setting is process-wide and has no getter,
 * so the call that sets it records it here for the memory report.
 */
let setThresholdBytes: number | undefined;

/** Whether GLIBC_TUNABLES (read by glibc at start) already sets the threshold: the operator's choice stands. */
export function tunablesSetThreshold(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.mmap_threshold=');
}

/** Fixes glibc's mmap threshold at `bytes` for the whole process; false where the C library is not glibc. */
export async function setMallocMmapThreshold(bytes: number): Promise<boolean> {
  if (!onGlibc()) return false;
  const { default: koffi } = await import('koffi');
  const mallopt = koffi.load('libc.so.6').func('int mallopt(int param, int value)') as (param: number, value: number) => number;
  if (mallopt(M_MMAP_THRESHOLD, bytes) !== 1) throw new Error(`glibc refused mmap threshold ${bytes}`);
  setThresholdBytes = bytes;
  return true;
}

/**
 * What this process runs with: `null` where glibc is not the C library (musl, macOS: nothing to tune), else
 * the GLIBC_TUNABLES it was started with ('' when none) and the threshold it set itself (null: none).
 */
export function mallocTuning(env: NodeJS.ProcessEnv = process.env): { glibcTunables: string; mmapThresholdBytes: number | null } | null {
  return onGlibc() ? { glibcTunables: env.GLIBC_TUNABLES ?? '', mmapThresholdBytes: setThresholdBytes ?? null } : null;
}

let glibc: boolean | undefined;
/** Asked once: a diagnostic report takes milliseconds. */
function onGlibc(): boolean {
  glibc ??= Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
  return glibc;
}
