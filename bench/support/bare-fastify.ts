/**
 * The second HTTP reference: a bare Fastify 5 route answering the same body as bare-server.mjs,
 * no hooks or plugins. Between it and the platform is the platform's own work (auth, rate limit,
 * observability, cache, headers); between it and bare node:http is Fastify's.
 */
import Fastify from 'fastify';

const body = JSON.stringify({ symbol: 'AAPL', bid: 195.23, ask: 195.24, last: 195.23, bidSize: 100, askSize: 200, volume: 123456, ts: Date.now(), seq: 1 });
const port = Number(process.env.PORT ?? 0);

const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
app.get('/', (_request, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body));
const address = await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
