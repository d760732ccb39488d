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

/** A worker thread's CPU profile, named as DevTools names the thread. */
export interface ThreadProfile {
  thread: string;
  profile: CpuProfile;
}

/** A worker's answer that never comes (it exited mid-session) must not hang the stop. */
const WORKER_REPLY_TIMEOUT_MS = 5_000;

/**
 * CPU profiles of every worker thread (the analysis pool's, the loaders'), through the main thread's
 * inspector and its NodeWorker domain: each worker is attached as a child session and profiled with
 * the same Profiler commands, so no worker code has to cooperate. Workers that start during the
 * session are profiled from their start; workers that exit are left out.
 */
export class WorkerCpuProfilers {
  private readonly session = new Session();
  private readonly workers = new Map<string, { title: string; started: Promise<unknown> }>();
  private readonly pending = new Map<number, { sessionId: string; resolve: (result: unknown) => void }>();
  private nextId = 1;
  private samplingIntervalUs = 0;

  async start(samplingIntervalUs: number): Promise<void> {
    this.samplingIntervalUs = samplingIntervalUs;
    this.session.connect();
    this.session.on('NodeWorker.attachedToWorker', ({ params }) => {
      const started = this.send(params.sessionId, 'Profiler.enable')
        .then(() => this.send(params.sessionId, 'Profiler.setSamplingInterval', { interval: this.samplingIntervalUs }))
        .then(() => this.send(params.sessionId, 'Profiler.start'));
      this.workers.set(params.sessionId, { title: params.workerInfo.title, started });
    });
    this.session.on('NodeWorker.detachedFromWorker', ({ params }) => {
      this.workers.delete(params.sessionId);
      for (const [id, waiter] of this.pending) if (waiter.sessionId === params.sessionId) this.settle(id, undefined);
    });
    this.session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
      const reply = JSON.parse(params.message) as { id?: number; result?: unknown };
      if (reply.id !== undefined) this.settle(reply.id, reply.result);
    });
    await this.session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  async stop(): Promise<ThreadProfile[]> {
    try {
      const profiles = await Promise.all(
        [...this.workers].map(async ([sessionId, worker]) => {
          await worker.started;
          const result = (await this.send(sessionId, 'Profiler.stop')) as { profile: CpuProfile } | undefined;
          return result && { thread: worker.title, profile: result.profile };
        }),
      );
      return profiles.filter((p): p is ThreadProfile => p !== undefined);
    } finally {
      await this.session.post('NodeWorker.disable').catch(() => undefined);
      this.session.disconnect();
    }
  }

  /** One inspector command to one worker; resolves undefined when the worker goes away or never answers. */
  private send(sessionId: string, method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, undefined), WORKER_REPLY_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, {
        sessionId,
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      });
      this.session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => this.settle(id, undefined));
    });
  }

  private settle(id: number, result: unknown): void {
    const waiter = this.pending.get(id);
    this.pending.delete(id);
    waiter?.resolve(result);
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
