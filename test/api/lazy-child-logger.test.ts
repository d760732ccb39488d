import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { lazyChildLogger } from '../../src/http/lazy-child-logger.ts';

describe('lazy per-request child logger', () => {
  it('builds the child only when a request logs, with the request id bound', async () => {
    const lines: string[] = [];
    const logger = pino({ redact: ['req.headers.authorization'] }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const child = vi.spyOn(logger, 'child');
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, childLoggerFactory: lazyChildLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.get('/quiet', async () => ({ ok: true }));
    app.get('/loud', async (request) => {
      request.log.info({ step: 1 }, 'handled');
      return { ok: true };
    });
    await app.ready();
    child.mockClear(); // Fastify derives its own loggers at start-up
    expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect(child).not.toHaveBeenCalled();
    await app.inject({ url: '/loud', headers: { 'request-id': 'x' } });
    expect(child).toHaveBeenCalledTimes(1);
    const line = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'handled', step: 1, reqId: expect.any(String) });
    await app.close();
  });
});
