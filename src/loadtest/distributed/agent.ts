/**
 * `tachyon loadtest agent`: a load generator a coordinator drives over HTTP (protocol.ts). It runs
 * one run at a time, each its execution segment of the coordinator's scenario, and hands back metric
 * deltas (HDR histograms, counters, rates) that the coordinator merges exactly.
 *
 * An agent sends load wherever it is told, so it is locked down: every call needs the shared token
 * (compared in constant time), it listens on loopback unless told otherwise, and its own guardrails
 * (allowed hosts, duration, rate, VUs) apply to every run. A coordinator that goes silent for
 * `coordinatorTimeoutMs` loses its run: the agent stops it and is free again.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { BadRequestError, ConflictError, NotFoundError, TachyonError, UnauthorizedError } from '../../kernel/errors.ts';
import { VERSION } from '../../version.ts';
import type { Guardrails } from '../guardrails.ts';
import { epochNowMs } from '../metrics.ts';
import { AgentRun } from './agent-run.ts';
import { AGENT_PROTOCOL_VERSION, PrepareRequestSchema, StartRequestSchema } from './protocol.ts';
import type { AgentInfo } from './protocol.ts';

export const MIN_TOKEN_LENGTH = 16;
const MAX_BODY_BYTES = 32 * 1_048_576;
const PROBLEM = 'application/problem+json; charset=utf-8';

export interface AgentOptions {
  token: string;
  guardrails: Guardrails;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Load-generating threads (default 1). */
  workers?: number;
  /** Called once a run was collected and forgotten (the CLI's `--once` exits there). */
  onRunDone?: () => void;
  coordinatorTimeoutMs?: number;
}

export interface Agent {
  url: string;
  close(): Promise<void>;
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  if (options.token.length < MIN_TOKEN_LENGTH) throw new BadRequestError(`the agent token must be at least ${MIN_TOKEN_LENGTH} characters (TACHYON_AGENT_TOKEN or --token)`);
  const workers = options.workers ?? 1;
  const expected = digest(options.token);
  const timeoutMs = options.coordinatorTimeoutMs ?? 30_000;
  let run: AgentRun | undefined;
  let preparing = false;

  const release = (): void => {
    run?.stop('released');
    run = undefined;
    options.onRunDone?.();
  };
  const runFor = (id: string | undefined): AgentRun => {
    if (!run || run.id !== id) throw new NotFoundError(`no run "${id}" on this agent`);
    run.lastContactMs = Date.now();
    return run;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!timingSafeEqual(digest(token), expected)) throw new UnauthorizedError('this agent needs the shared token: "Authorization: Bearer <TACHYON_AGENT_TOKEN>"');
    const path = (req.url ?? '/').split('?')[0] as string;
    const match = /^\/runs\/([^/]+)(\/start|\/metrics|\/stop)?$/.exec(path);
    const id = match?.[1];
    const action = match?.[2] ?? '';
    const key = `${req.method} ${match ? `/runs/:id${action}` : path}`;
    switch (key) {
      case 'GET /agent': {
        const info: AgentInfo = { protocol: AGENT_PROTOCOL_VERSION, version: VERSION, workers, run: run?.id ?? null, nowMs: epochNowMs() };
        return send(res, 200, info);
      }
      case 'POST /runs': {
        const body = await readBody(req, checkPrepare);
        if (run || preparing) throw new ConflictError(`this agent is busy with run "${run?.id ?? '(preparing)'}"`);
        if (body.shardIds.length > workers) throw new BadRequestError(`this agent has ${workers} thread(s), asked to run ${body.shardIds.length} shards`);
        preparing = true;
        try {
          run = await AgentRun.prepare(body, options.guardrails);
        } finally {
          preparing = false;
        }
        return send(res, 201, { runId: run.id, nowMs: epochNowMs() });
      }
      case 'POST /runs/:id/start':
        runFor(id).start((await readBody(req, checkStart)).startMs);
        return send(res, 202, { runId: id });
      case 'GET /runs/:id/metrics':
        return send(res, 200, runFor(id).collect());
      case 'POST /runs/:id/stop':
        runFor(id).stop();
        return send(res, 202, { runId: id });
      case 'DELETE /runs/:id':
        runFor(id);
        release();
        res.writeHead(204).end();
        return;
      default:
        throw new NotFoundError(`no route ${req.method} ${path}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const known = error instanceof TachyonError ? error : undefined;
      const status = known?.status ?? 500;
      const detail = known || status < 500 ? (error as Error).message : `agent error: ${(error as Error).message}`;
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'content-type': PROBLEM });
      res.end(JSON.stringify({ type: 'about:blank', title: known?.code ?? 'internal_error', status, detail, code: known?.code ?? 'internal_error' }));
    });
  });
  server.keepAliveTimeout = 60_000;

  // A coordinator that stopped polling (crashed, cut off) must not hold the agent forever.
  const watchdog = setInterval(() => {
    if (run && Date.now() - run.lastContactMs > timeoutMs) {
      console.error(`tachyon loadtest agent: no word from the coordinator for ${Math.round(timeoutMs / 1000)} s: run "${run.id}" stopped and dropped`);
      release();
    }
  }, Math.min(5_000, timeoutMs)).unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      clearInterval(watchdog);
      run?.stop('agent closing');
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const checkPrepare = TypeCompiler.Compile(PrepareRequestSchema);
const checkStart = TypeCompiler.Compile(StartRequestSchema);

async function readBody<S extends TSchema>(req: IncomingMessage, check: TypeCheck<S>): Promise<Static<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequestError('request body is not JSON');
  }
  if (!check.Check(body)) {
    const first = check.Errors(body).First();
    throw new BadRequestError(`invalid request body: ${first ? `${first.path || '/'} ${first.message}` : 'does not match the schema'}`);
  }
  return body as Static<S>;
}
