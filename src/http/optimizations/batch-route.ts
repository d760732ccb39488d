/**
 * POST /api/batch: up to a configured number of GET sub-requests in one round trip. Each runs
 * through the whole pipeline in-process (Fastify inject) with the caller's own credentials, so
 * access control, per-user keys and caching apply to each exactly as if sent alone.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BadRequestError, NotFoundError } from '../../kernel/errors.ts';
import type { HttpFlags } from '../../cache/flags.ts';

const PASSED_HEADERS = ['etag', 'cache-status', 'age', 'cache-control'] as const;

export function batchRoute(deps: { flags: HttpFlags; maxRequests: number }) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/api/batch',
      {
        schema: {
          tags: ['performance'],
          summary: `Run up to ${deps.maxRequests} GET requests in one round trip; answers come back in order`,
          body: Type.Object(
            {
              requests: Type.Array(
                Type.Object(
                  {
                    path: Type.String({ pattern: '^/api/', maxLength: 2048, description: 'an /api path with its query string' }),
                    ifNoneMatch: Type.Optional(Type.String({ maxLength: 256 })),
                  },
                  { additionalProperties: false },
                ),
                { minItems: 1 },
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              responses: Type.Array(
                Type.Object({
                  status: Type.Integer(),
                  headers: Type.Record(Type.String(), Type.String()),
                  body: Type.Unknown(),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        if (!deps.flags.batch(request.principal?.accountIds[0])) throw new NotFoundError('batching is switched off (http.batch)');
        const { requests } = request.body;
        if (requests.length > deps.maxRequests) throw new BadRequestError(`body.requests has ${requests.length} entries; at most ${deps.maxRequests} are allowed`);
        if (requests.some((r) => r.path.split('?')[0] === '/api/batch')) throw new BadRequestError('a batch cannot contain /api/batch');
        const responses = await Promise.all(
          requests.map(async (sub) => {
            const res = await fastify.inject({
              method: 'GET',
              url: sub.path,
              headers: {
                ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
                ...(sub.ifNoneMatch ? { 'if-none-match': sub.ifNoneMatch } : {}),
                // The batch answer as a whole is compressed once, not each part.
                'x-no-compression': '1',
              },
            });
            const headers: Record<string, string> = {};
            for (const name of PASSED_HEADERS) {
              const value = res.headers[name];
              if (value !== undefined) headers[name] = String(value);
            }
            const json = String(res.headers['content-type'] ?? '').includes('json');
            return { status: res.statusCode, headers, body: res.body === '' ? null : json ? (JSON.parse(res.body) as unknown) : res.body };
          }),
        );
        return { responses };
      },
    );
  };
}
