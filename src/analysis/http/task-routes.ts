/** Analysis tasks: queue one, follow it, cancel it. A task is its creator's: another user's answers 404. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../../http/access.ts';
import { ConflictError, NotFoundError } from '../../kernel/errors.ts';
import { CLIENT_TASK_TYPES, type AnalysisService } from '../service.ts';
import type { TaskOwners } from '../task-owners.ts';
import type { TaskQueue, TaskRecord } from '../task-queue/port.ts';
import { Anything, Priority, tags } from './schemas.ts';

export interface TaskRoutesDeps {
  analysis: AnalysisService;
  queue: TaskQueue;
  owners: TaskOwners;
}

const TaskIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const TaskSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  priority: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  createdAt: Type.Number(),
  startedAt: Type.Optional(Type.Number()),
  finishedAt: Type.Optional(Type.Number()),
  error: Type.Optional(Type.String()),
  result: Type.Optional(Type.Unknown()),
  location: Type.String(),
});

const TaskBody = Type.Object(
  {
    type: Type.Union(CLIENT_TASK_TYPES.map((t) => Type.Literal(t))),
    payload: Anything,
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);

export const taskLocation = (id: string) => `/api/tasks/${id}`;

function taskDto(record: TaskRecord): Static<typeof TaskSchema> {
  return { ...record, location: taskLocation(record.id) };
}

/** The queue's record of a task the caller owns; the queue may have forgotten it (retention, or an in-process queue that restarted). */
async function recordOf(queue: TaskQueue, id: string): Promise<TaskRecord> {
  const record = await queue.get(id);
  if (!record) throw new NotFoundError(`task ${id} is no longer known (finished long ago, or queued in a process that restarted)`);
  return record;
}

export function taskRoutes({ analysis, queue, owners }: TaskRoutesDeps) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/api/tasks',
      {
        schema: {
          tags,
          summary: 'Queue an analysis task (analysis.backtest: a backtest body; analysis.predict: {symbol, interval, options}); 202 with its link',
          body: TaskBody,
          response: { 202: TaskSchema },
        },
      },
      async (request, reply) => {
        const { type, payload, priority } = request.body;
        const id = await analysis.enqueue(type, payload, priority, principalOf(request).userId);
        await owners.record(id, principalOf(request).userId, type);
        return reply.code(202).header('location', taskLocation(id)).send(taskDto(await recordOf(queue, id)));
      },
    );

    app.get(
      '/api/tasks/:id',
      { schema: { tags, summary: 'One of your tasks: status, attempts, timings, result or error', params: TaskIdParam, response: { 200: TaskSchema } } },
      async (request) => {
        await owners.require(request.params.id, principalOf(request).userId);
        return taskDto(await recordOf(queue, request.params.id));
      },
    );

    app.delete(
      '/api/tasks/:id',
      { schema: { tags, summary: 'Cancel one of your tasks (409 once it has finished)', params: TaskIdParam, response: { 200: TaskSchema } } },
      async (request) => {
        const id = request.params.id;
        await owners.require(id, principalOf(request).userId);
        if (!(await queue.cancel(id))) {
          const record = await recordOf(queue, id);
          throw new ConflictError(`task ${id} has already finished (${record.status})`, { status: record.status });
        }
        return taskDto(await recordOf(queue, id));
      },
    );
  };
}
