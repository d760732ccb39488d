/**
 * The process's own inspector, as a profiler: a CPU profile, a sampling heap profile or a heap
 * snapshot, in the formats Chrome DevTools opens. One inspector session per profile; the profiles are
 * taken in-process, so they see exactly what the server runs (no restart with --inspect, no port).
 */
import { createWriteStream } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { finished } from 'node:stream/promises';
import type { CpuProfile, SamplingHeapProfile } from './summaries.ts';

export class SnapshotTooLargeError extends Error {}

export class CpuProfiler {
  private readonly session = new Session();

  async start(samplingIntervalUs: number): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    try {
      const { profile } = await this.session.post('Profiler.stop');
      return profile as CpuProfile;
    } finally {
      this.session.disconnect();
    }
  }
}

export class HeapSampler {
  private readonly session = new Session();

  async start(samplingIntervalBytes: number): Promise<void> {
    this.session.connect();
    await this.session.post('HeapProfiler.enable');
    await this.session.post('HeapProfiler.startSampling', { samplingInterval: samplingIntervalBytes });
  }

  async stop(): Promise<SamplingHeapProfile> {
    try {
      const { profile } = await this.session.post('HeapProfiler.stopSampling');
      return profile as SamplingHeapProfile;
    } finally {
      this.session.disconnect();
    }
  }
}

/**
 * Writes a heap snapshot to `path`, refusing past `maxBytes` (the file is then incomplete and the
 * call throws). The snapshot pauses the process while V8 walks the heap: seconds on a large heap.
 */
export async function writeHeapSnapshot(path: string, maxBytes: number): Promise<number> {
  const session = new Session();
  const file = createWriteStream(path);
  let bytes = 0;
  let tooLarge = false;
  session.connect();
  session.on('HeapProfiler.addHeapSnapshotChunk', ({ params }) => {
    bytes += Buffer.byteLength(params.chunk);
    if (bytes > maxBytes) tooLarge = true;
    if (!tooLarge) file.write(params.chunk);
  });
  try {
    await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    session.disconnect();
    file.end();
    await finished(file);
  }
  if (tooLarge) throw new SnapshotTooLargeError(`heap snapshot exceeded ${maxBytes} bytes`);
  return bytes;
}
