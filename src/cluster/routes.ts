/** Cluster inspection (admin): which instance owns an account, and where it answers (bench:cluster aims forwarded orders with it). */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ShardOwnership } from './shard-ownership.ts';

const OwnerSchema = Type.Object({
  accountId: Type.Integer(),
  shard: Type.Integer(),
  /** True when the instance answering owns the account. */
  local: Type.Boolean(),
  instanceId: Type.String(),
  lease: Type.Union([
    Type.Object({ holder: Type.String(), epoch: Type.Integer(), expiresAt: Type.Integer(), address: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
});

export function clusterRoutes(deps: { ownership: ShardOwnership }) {
  const { ownership } = deps;
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/api/admin/cluster/accounts/:id/owner',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: "An account's shard and the lease that owns it (holder, epoch, expiry, internal address), as the database has it",
          params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
          response: { 200: OwnerSchema },
        },
      },
      async (request) => {
        const accountId = request.params.id;
        const lease = await ownership.lease(accountId);
        return {
          accountId,
          shard: ownership.shardOf(accountId),
          local: ownership.ownsNow(accountId),
          instanceId: ownership.holder,
          lease: lease ? { holder: lease.holder, epoch: lease.epoch, expiresAt: lease.expiresAt, address: lease.address } : null,
        };
      },
    );
  };
}
