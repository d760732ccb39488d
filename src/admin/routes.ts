/** Administration: users and tokens, history loading, reconciliation (feature flags: src/flags/routes.ts). Admin only. */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { hashToken } from '../auth/tokens.ts';
import { DEFAULT_OPENING_CASH, type UserStore } from '../auth/user-store.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { parseAmount } from '../kernel/money.ts';
import type { HistoryLoader } from '../market-data/history-loader.ts';
import type { ReconcileReport } from '../trading/reconcile.ts';

export interface AdminDeps {
  users: UserStore;
  history: HistoryLoader;
  reconcile(): Promise<ReconcileReport>;
}

/** The CLI's `seed` and `reconcile` go through these while a server holds the embedded data directory. */
export function adminRoutes(deps: AdminDeps) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/api/admin/users',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Create a user; the answer carries its API token, shown this once',
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@\\-]+$' }),
              role: Type.Union([Type.Literal('trader'), Type.Literal('admin')]),
              openingCash: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9, description: 'paper account funding (traders)' })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const { name, role, openingCash } = request.body;
        const created = await deps.users.create({ name, role, openingCash: parseAmount(openingCash ?? DEFAULT_OPENING_CASH, 'body.openingCash'), label: 'api' });
        return reply.code(201).send(created);
      },
    );

    app.post(
      '/api/admin/history',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Reload N trading days of 1-minute history in the background, paced to keep requests fast; progress on /api/health/detailed',
          body: Type.Object({ days: Type.Integer({ minimum: 1, maximum: 3650 }) }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        // Failures are kept in the loader's status (and logged); the caller follows the progress.
        deps.history.load(request.body.days).catch(() => {});
        return reply.code(202).header('location', '/api/health/detailed').send({ history: deps.history.status() });
      },
    );

    app.get('/api/admin/reconcile', { config: { access: 'admin' }, schema: { tags: ['admin'], summary: 'Positions against fills and cash against its flows; `problems` lists every difference' } }, () =>
      deps.reconcile(),
    );

    app.post(
      '/api/admin/users/:name/tokens',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Issue a new API token for an existing user (tokens are stored hashed, so old ones cannot be shown); `replace` revokes its earlier tokens with the same label',
          params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
          body: Type.Object(
            { label: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z0-9-]+$' })), replace: Type.Optional(Type.Boolean()) },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const user = await deps.users.findByName(request.params.name);
        if (!user) throw new NotFoundError(`no user named ${request.params.name}`);
        const token = await deps.users.issueToken(user.id, request.body.label ?? 'api', { revokeSameLabel: request.body.replace === true });
        const principal = await deps.users.principalForHash(hashToken(token));
        return reply.code(201).send({ userId: user.id, name: request.params.name, role: user.role, accountId: principal?.accountIds[0], token });
      },
    );
  };
}
