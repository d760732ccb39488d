/**
 * Profiling and memory routes (admin), under each of the performance prefixes:
 * `GET /profiling`, `POST /profiling/start`, `POST /profiling/stop`, `GET /profiling/:id`,
 * `GET /profiling/:id/download`, `GET /memory/leaks`, `POST /memory/leaks/diagnose`.
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../http/access.ts';
import { ConflictError } from '../kernel/errors.ts';
import { PERFORMANCE_PREFIXES } from '../observability/routes.ts';
import type { MemoryWatch } from './memory-watch.ts';
import { PROFILE_KINDS, type ProfilingSessions } from './sessions.ts';

const admin = { access: 'admin' } as const;
const tags = ['profiling'];
const Id = Type.Object({ id: Type.String({ format: 'uuid' }) });

export function profilingRoutes(sessions: ProfilingSessions, memory: MemoryWatch, maxDurationMs: number) {
  async function api(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get('/profiling', { config: admin, schema: { tags, summary: 'Profiling sessions of this instance, newest first, with their summaries' } }, async () => ({
      sessions: sessions.list(),
    }));

    app.post(
      '/profiling/start',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Start a CPU profile, a sampling heap profile or a heap snapshot (one session at a time per instance)',
          body: Type.Object(
            {
              kind: Type.Union(PROFILE_KINDS.map((k) => Type.Literal(k))),
              durationMs: Type.Integer({ minimum: 100, maximum: maxDurationMs, default: Math.min(10_000, maxDurationMs), description: 'Stops by itself after this long (ignored for heap snapshots)' }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => reply.code(202).send(await sessions.start(request.body.kind, request.body.durationMs, principalOf(request).name)),
    );

    app.post('/profiling/stop', { config: admin, schema: { tags, summary: 'Stop the running session and return its result' } }, async () => sessions.stop());

    app.get('/profiling/:id', { config: admin, schema: { tags, summary: 'One session with its summary', params: Id } }, async (request) => sessions.get(request.params.id));

    app.get(
      '/profiling/:id/download',
      {
        config: admin,
        schema: {
          tags,
          summary: 'The profile file (.cpuprofile, .heapprofile, .heapsnapshot: open it in Chrome DevTools); a worker thread\'s CPU profile with ?thread=',
          params: Id,
          querystring: Type.Object({ thread: Type.Optional(Type.String({ maxLength: 100, description: 'A thread name from the session\'s `threads` (e.g. `[worker 1]`)' })) }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const { path, fileName } = sessions.file(request.params.id, request.query.thread);
        return reply
          .type('application/json')
          .header('content-disposition', `attachment; filename="${fileName}"`)
          .header('cache-control', 'private, no-store')
          .send(createReadStream(path));
      },
    );

    app.get('/memory/leaks', { config: admin, schema: { tags, summary: 'Post-GC heap trend, leak suspicion, the last growth-by-constructor report, GC pauses by kind' } }, async () =>
      memory.status(),
    );

    app.post(
      '/memory/leaks/diagnose',
      { config: admin, schema: { tags, summary: 'Start a heap snapshot pair now, diffed by constructor (pauses the process twice); 202, the report appears on GET /memory/leaks' } },
      async (_request, reply) => {
        if (!memory.requestDiagnosis()) throw new ConflictError('a leak diagnosis is already running: follow it on GET /api/performance/memory/leaks');
        return reply.code(202).header('location', '/api/performance/memory/leaks').send({ status: 'diagnosing' });
      },
    );
  }

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(api, { prefix });
  };
}
