/**
 * Serves the web dashboard at /dashboard from its build (dashboard/dist): hashed files for a year
 * (`immutable`: their names change with their content), pre-compressed variants chosen by
 * Accept-Encoding, and the HTML shell revalidated on every load so a new build is picked up at once.
 * Public: the page itself holds no data; it signs in with a token for every API call.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError, ServiceUnavailableError } from '../kernel/errors.ts';
import { pickEncoding, type DashboardAssets } from './assets.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The service worker fetches the shell, assets and API of its own origin, nothing else. */
const SERVICE_WORKER_CSP = "default-src 'none'; connect-src 'self'";

/**
 * @param load reads the build, on the first request: a platform that never serves the page never
 * reads it, and one started before the build finds it once it is there.
 */
export function dashboardRoutes(load: () => DashboardAssets) {
  let loaded: DashboardAssets | undefined;
  const assets = () => (loaded?.index ? loaded : (loaded = load()));
  return async function plugin(app: FastifyInstance): Promise<void> {
    const config = { access: 'public' } as const;
    const schema = { tags: ['dashboard'], hide: true };

    const shell = async (_request: unknown, reply: FastifyReply) => {
      const { index } = assets();
      if (!index) throw new ServiceUnavailableError('The dashboard is not built: run `npm run dashboard:build`.');
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
    };
    app.get('/dashboard', { config, schema }, shell);
    app.get('/dashboard/', { config, schema }, shell);

    // Not hashed: revalidated on every check, and allowed to control /dashboard itself (its default scope is /dashboard/).
    // A worker runs under its script's CSP: the API set (default-src 'none') would block the worker's own fetches.
    // Route hooks run after the security headers' global onSend, so this one is last.
    const workerCsp = (_request: unknown, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
      reply.header('content-security-policy', SERVICE_WORKER_CSP);
      done(null, payload);
    };
    app.get('/dashboard/sw.js', { config, schema, onSend: workerCsp }, async (_request, reply) => {
      const { serviceWorker } = assets();
      if (!serviceWorker) throw new NotFoundError('the dashboard build has no service worker');
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').header('service-worker-allowed', '/dashboard').send(serviceWorker);
    });

    app.get<{ Params: { file: string } }>('/dashboard/assets/:file', { config, schema }, async (request, reply) => {
      const asset = assets().hashed.get(request.params.file);
      if (!asset) throw new NotFoundError(`no dashboard asset ${request.params.file}`);
      const { encoding, body } = pickEncoding(asset, request.headers['accept-encoding']);
      reply.type(asset.type).header('cache-control', IMMUTABLE).header('vary', 'accept-encoding');
      // A set Content-Encoding tells @fastify/compress the body is already encoded.
      if (encoding) reply.header('content-encoding', encoding);
      return reply.send(body);
    });
  };
}
