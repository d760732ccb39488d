/** Cache operations for admins: statistics per class and tier, and manual invalidation. */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BadRequestError } from '../../kernel/errors.ts';
import { DATA_CLASSES, type DataClass } from '../policies.ts';
import type { TieredCache } from '../tiered-cache.ts';

const ClassName = Type.Union(DATA_CLASSES.map((c) => Type.Literal(c)));

export function cacheAdminRoutes(cache: TieredCache) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get('/api/admin/cache/stats', { config: { access: 'admin' }, schema: { tags: ['admin'], summary: 'Cache hits, misses, hit rate, evictions and size per class and tier' } }, async () => {
      const usage = cache.l1Usage();
      return {
        hitRate: cache.stats.hitRate(),
        l1: { bytes: cache.l1.bytes, entries: cache.l1.lru.size, evictions: cache.l1.evictions },
        l2: { configured: cache.redisHealthy !== undefined, healthy: cache.redisHealthy ?? false },
        classes: Object.fromEntries(
          DATA_CLASSES.map((cls) => [cls, { ...cache.stats.byClass[cls], hitRate: cache.stats.hitRate(cls), l1: usage[cls], policy: cache.policy(cls) }]),
        ),
      };
    });

    app.post(
      '/api/admin/cache/invalidate',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          summary: 'Invalidate a whole class, a tag (in one class or all), or one key of a class; every instance hears it',
          body: Type.Object(
            { class: Type.Optional(ClassName), tag: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), key: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { class: cls, tag, key } = request.body as { class?: DataClass; tag?: string; key?: string };
        if (key !== undefined) {
          if (!cls) throw new BadRequestError('body.key needs body.class');
          await cache.invalidateKey(cls, key);
        } else if (tag !== undefined) {
          await cache.invalidateTag(tag, cls ? [cls] : DATA_CLASSES);
        } else if (cls) {
          await cache.invalidateClass(cls);
        } else {
          throw new BadRequestError('name body.class, body.tag or body.key');
        }
        return { invalidated: { class: cls ?? null, tag: tag ?? null, key: key ?? null } };
      },
    );
  };
}
