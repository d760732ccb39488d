/**
 * Profiling sessions (admin): one at a time per instance, each with a hard cap on duration and size,
 * kept on disk as the file DevTools opens plus a summary computed here. Older sessions' files are
 * deleted when more than `keep` sessions exist, so profiling cannot fill the disk.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../kernel/clock.ts';
import { ConflictError, NotFoundError, unprocessable } from '../kernel/errors.ts';
import { CpuProfiler, HeapSampler, WorkerCpuProfilers, writeHeapSnapshot, type ThreadProfile } from './inspector.ts';
import { ownedSizesByConstructor, sizesByConstructor, summarizeCpuProfile, summarizeHeapSampling, topConstructors, type HeapSnapshot } from './summaries.ts';

export const PROFILE_KINDS = ['cpu', 'heap-sampling', 'heap-snapshot'] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

const EXTENSION: Record<ProfileKind, string> = { cpu: 'cpuprofile', 'heap-sampling': 'heapprofile', 'heap-snapshot': 'heapsnapshot' };

export interface ProfilingConfig {
  /** Where profile files are written. */
  dir: string;
  /** Hard cap on a session's duration; a session stops by itself then. */
  maxDurationMs: number;
  /** Hard cap on a heap snapshot's size. */
  maxSnapshotBytes: number;
  /** Sessions (and their files) kept. */
  keep: number;
  cpuSamplingIntervalUs: number;
  heapSamplingIntervalBytes: number;
}

export interface ProfilingSession {
  id: string;
  kind: ProfileKind;
  state: 'running' | 'completed' | 'failed';
  startedBy: string;
  startedAt: string;
  endedAt: string | null;
  /** The duration asked for (the cap applies); a heap snapshot is instantaneous. */
  durationLimitMs: number;
  fileName: string | null;
  bytes: number | null;
  summary: unknown;
  error: string | null;
  /** CPU sessions: one profile per worker thread that ran during the session (the main thread's is `fileName`). */
  threads: ThreadResult[];
}

export interface ThreadResult {
  /** The thread's name as DevTools shows it (`[worker 1]`); download with `?thread=`. */
  thread: string;
  fileName: string;
  bytes: number;
  summary: unknown;
}

interface Running {
  session: ProfilingSession;
  timer: NodeJS.Timeout;
  finish(): Promise<void>;
}

export class ProfilingSessions {
  private readonly sessions: ProfilingSession[] = [];
  private running: Running | undefined;
  private snapshotting: Promise<void> | undefined;

  constructor(
    private readonly config: ProfilingConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  list(): ProfilingSession[] {
    return [...this.sessions].reverse();
  }

  get(id: string): ProfilingSession {
    const session = this.sessions.find((s) => s.id === id);
    if (!session) throw new NotFoundError(`no profiling session ${id}`);
    return session;
  }

  /** The file of a completed session (the main thread's, or the named worker thread's), for download. */
  file(id: string, thread?: string): { path: string; fileName: string } {
    const session = this.get(id);
    if (session.state !== 'completed' || !session.fileName) throw new ConflictError(`profiling session ${id} is ${session.state}: no file to download`);
    if (thread === undefined) return { path: join(this.config.dir, session.fileName), fileName: session.fileName };
    const result = session.threads.find((t) => t.thread === thread);
    if (!result) throw new NotFoundError(`profiling session ${id} has no thread ${thread}`);
    return { path: join(this.config.dir, result.fileName), fileName: result.fileName };
  }

  async start(kind: ProfileKind, durationMs: number, startedBy: string): Promise<ProfilingSession> {
    if (this.running || this.snapshotting) throw new ConflictError('a profiling session is already running on this instance: stop it first', { running: this.running?.session.id });
    if (durationMs > this.config.maxDurationMs) {
      throw unprocessable('profiling_too_long', { maxDurationMs: this.config.maxDurationMs }, { maxDurationMs: this.config.maxDurationMs });
    }
    mkdirSync(this.config.dir, { recursive: true });
    const session: ProfilingSession = {
      id: randomUUID(),
      kind,
      state: 'running',
      startedBy,
      startedAt: new Date(this.clock.now()).toISOString(),
      endedAt: null,
      durationLimitMs: kind === 'heap-snapshot' ? 0 : durationMs,
      fileName: null,
      bytes: null,
      summary: null,
      error: null,
      threads: [],
    };
    this.remember(session);
    if (kind === 'heap-snapshot') {
      // Answer at once; the snapshot pauses the process while V8 walks the heap.
      this.snapshotting = this.snapshot(session).finally(() => (this.snapshotting = undefined));
      return session;
    }
    const profiler = kind === 'cpu' ? new CpuProfiler() : new HeapSampler();
    const workers = kind === 'cpu' ? new WorkerCpuProfilers() : undefined;
    if (profiler instanceof CpuProfiler) await profiler.start(this.config.cpuSamplingIntervalUs);
    else await profiler.start(this.config.heapSamplingIntervalBytes);
    await workers?.start(this.config.cpuSamplingIntervalUs);
    let finishing: Promise<void> | undefined;
    const finish = () =>
      (finishing ??= (async () => {
        clearTimeout(running.timer);
        try {
          const [profile, threads] = await Promise.all([profiler.stop(), workers?.stop() ?? []]);
          const json = JSON.stringify(profile);
          const fileName = `${session.id}.${EXTENSION[kind]}`;
          await writeFile(join(this.config.dir, fileName), json);
          Object.assign(session, {
            fileName,
            bytes: Buffer.byteLength(json),
            summary: profiler instanceof CpuProfiler ? summarizeCpuProfile(profile as never) : summarizeHeapSampling(profile as never),
            threads: await Promise.all(threads.map((t, i) => this.writeThread(session, t, i))),
          });
          this.complete(session);
        } catch (error) {
          this.fail(session, error);
        } finally {
          this.running = undefined;
        }
      })());
    const running: Running = { session, timer: setTimeout(() => void finish(), durationMs), finish };
    running.timer.unref();
    this.running = running;
    return session;
  }

  /** Stops the running session now and returns it with its result. */
  async stop(): Promise<ProfilingSession> {
    const running = this.running;
    if (running) {
      await running.finish();
      return running.session;
    }
    throw new ConflictError('no profiling session is running on this instance');
  }

  /** Stops a running session (platform shutdown); files stay for the operator. */
  async close(): Promise<void> {
    await this.running?.finish();
    await this.snapshotting;
  }

  private async writeThread(session: ProfilingSession, { thread, profile }: ThreadProfile, index: number): Promise<ThreadResult> {
    const json = JSON.stringify(profile);
    const fileName = `${session.id}.thread-${index + 1}.${EXTENSION.cpu}`;
    await writeFile(join(this.config.dir, fileName), json);
    return { thread, fileName, bytes: Buffer.byteLength(json), summary: summarizeCpuProfile(profile) };
  }

  private async snapshot(session: ProfilingSession): Promise<void> {
    const fileName = `${session.id}.${EXTENSION['heap-snapshot']}`;
    const path = join(this.config.dir, fileName);
    try {
      const bytes = await writeHeapSnapshot(path, this.config.maxSnapshotBytes);
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
      Object.assign(session, { fileName, bytes, summary: { byConstructor: topConstructors(sizesByConstructor(parsed)), ownedByConstructor: topConstructors(ownedSizesByConstructor(parsed)) } });
      this.complete(session);
    } catch (error) {
      rmSync(path, { force: true });
      this.fail(session, error);
    }
  }

  private complete(session: ProfilingSession): void {
    session.state = 'completed';
    session.endedAt = new Date(this.clock.now()).toISOString();
    this.logger.info({ profiling: session.id, kind: session.kind, bytes: session.bytes }, 'profiling session completed');
  }

  private fail(session: ProfilingSession, error: unknown): void {
    session.state = 'failed';
    session.endedAt = new Date(this.clock.now()).toISOString();
    session.error = (error as Error).message;
    this.logger.warn({ err: error, profiling: session.id }, 'profiling session failed');
  }

  private remember(session: ProfilingSession): void {
    this.sessions.push(session);
    while (this.sessions.length > this.config.keep) {
      const old = this.sessions.shift()!;
      for (const fileName of [old.fileName, ...old.threads.map((t) => t.fileName)]) if (fileName) rmSync(join(this.config.dir, fileName), { force: true });
    }
  }
}
