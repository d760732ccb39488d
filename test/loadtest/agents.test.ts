/**
 * Distributed runs on this machine: agents in their own processes, driven by a coordinator.
 *  - A two-agent run of a fixed arrival schedule sends exactly the requests a single-process run of
 *    the same schedule sends, and reports the same counts, thresholds and (loosely) latencies.
 *  - `tachyon loadtest --agents URL,URL` against running `tachyon loadtest agent` processes writes the
 *    same report; a wrong token is refused with a one-line message.
 *  - An agent answers nobody without the token, listens on loopback by default and applies its own
 *    guardrails; an agent killed mid-run fails the run with its name instead of hanging it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/loadtest/distributed/agent.ts';
import type { Agent } from '../../src/loadtest/distributed/agent.ts';
import { DEFAULT_GUARDRAILS } from '../../src/loadtest/guardrails.ts';
import type { MetricSummary, RunResult } from '../../src/loadtest/results.ts';
import { runLoadTest } from '../../src/loadtest/run.ts';
import { spawnTachyon } from '../support/cli.ts';
import type { TachyonChild } from '../support/cli.ts';
import { startServer } from './test-server.ts';
import type { TestServer } from './test-server.ts';

const SCENARIO = fileURLToPath(new URL('./fixtures/ramp-scenario.ts', import.meta.url));
const SCHEDULED = 325;
const SERVER_DELAY_MS = 20;
const TOKEN = 'agents-test-token-0123456789';

type Trend = Extract<MetricSummary, { kind: 'trend' }>;
const trend = (r: RunResult, name: string): Trend => r.metrics[name] as Trend;
const count = (r: RunResult, name: string): number => (r.metrics[name] as { count: number }).count;

let server: TestServer | undefined;
const children: TachyonChild[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  await Promise.all(agents.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await Promise.all(children.map(async (child) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await child.exited;
    }
  }));
});

/** `tachyon loadtest agent` on a free port; resolves with its URL once it listens. */
async function agentProcess(env: Record<string, string> = {}): Promise<{ child: TachyonChild; url: string }> {
  const child = spawnTachyon(['loadtest', 'agent', '--port', '0'], { TACHYON_AGENT_TOKEN: TOKEN, ...env });
  children.push(child);
  for (let i = 0; i < 1200 && child.exitCode === null; i++) {
    const url = /listening on (http:\/\/\S+)/.exec(child.output())?.[1];
    if (url) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`agent did not start: ${child.output()}`);
}

describe('a two-agent run against a one-process run of the same schedule', () => {
  it('sends the same requests and reports the same counts, thresholds and latencies within the noise', async () => {
    server = await startServer(() => SERVER_DELAY_MS);
    const single = await runLoadTest(SCENARIO, { target: server.url });
    expect(server.requests()).toBe(SCHEDULED);
    const distributed = await runLoadTest(SCENARIO, { target: server.url, agents: 2 });
    expect(server.requests(), JSON.stringify([distributed.metrics, distributed.errors])).toBe(2 * SCHEDULED);

    expect(distributed.agents).toEqual([
      { url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), segment: '0:1/2', threads: 1 },
      { url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), segment: '1/2:1', threads: 1 },
    ]);
    expect(distributed.workers).toBe(2);
    for (const result of [single, distributed]) {
      expect(count(result, 'http_reqs'), JSON.stringify([result.metrics, result.errors])).toBe(SCHEDULED);
      expect(count(result, 'iterations')).toBe(SCHEDULED);
      expect(count(result, 'dropped_iterations')).toBe(0);
      expect(trend(result, 'http_req_duration').count).toBe(SCHEDULED);
      expect(trend(result, 'order_ack_latency').count).toBe(SCHEDULED);
      expect(result.series['order_ack_latency{venue:paper}']).toMatchObject({ count: SCHEDULED });
      expect(result.endpoints).toMatchObject([{ method: 'GET', endpoint: 'quotes', requests: SCHEDULED, failedRate: 0 }]);
      expect(result.timeline.reduce((n, p) => n + p.requests, 0)).toBe(SCHEDULED);
      expect(result.thresholds.map((t) => [t.key, t.passed])).toEqual(single.thresholds.map((t) => [t.key, true]));
      expect(result.status).toBe('passed');
      // The server holds every request SERVER_DELAY_MS: a floor both runs must show.
      expect(trend(result, 'http_req_service_time').med).toBeGreaterThanOrEqual(SERVER_DELAY_MS);
    }
    // Very loosely: 7 other suites share these 2 cores (load averages of 20–30 were seen), and there the
    // generator's own stalls dominate either run's latency. This only catches a gross merge error.
    expect(trend(distributed, 'http_req_service_time').med).toBeLessThan(10 * trend(single, 'http_req_service_time').med + 2000);
  }, 300_000);
});

describe('tachyon loadtest --agents URL,URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tachyon-agents-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drives running agents and writes the same report as a single-host run; a wrong token is refused', async () => {
    server = await startServer(() => SERVER_DELAY_MS);
    const [a, b] = await Promise.all([agentProcess(), agentProcess()]);
    const coordinator = spawnTachyon(
      ['loadtest', '--scenario', SCENARIO, '--target', server.url, '--agents', `${a.url},${b.url}`, '--report', dir, '--threshold', 'http_req_duration: p(50)<60000'],
      { TACHYON_AGENT_TOKEN: TOKEN },
    );
    children.push(coordinator);
    expect(await coordinator.exited, coordinator.output()).toBe(0);
    expect(server.requests()).toBe(SCHEDULED);
    const result = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
    expect(result.agents?.map((x) => x.url)).toEqual([a.url, b.url]);
    expect(count(result, 'http_reqs')).toBe(SCHEDULED);
    expect(result.thresholds.find((t) => t.key === 'http_req_duration')).toMatchObject({ passed: true });
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('http_req_duration');
    expect(html).toContain('on 2 agent(s)');

    const refused = spawnTachyon(['loadtest', '--scenario', SCENARIO, '--target', server.url, '--agents', a.url], { TACHYON_AGENT_TOKEN: 'not-the-token-0123456789' });
    children.push(refused);
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toMatch(/refused the token/);
    expect(refused.output()).not.toMatch(/\n\s+at /);
    // The agents served one run each and are free again.
    const info = await fetch(`${a.url}/agent`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await info.json()).toMatchObject({ run: null, workers: 1 });
  }, 400_000);

  it('fails the run naming the agent when one is killed mid-run, and stops the others', async () => {
    server = await startServer(() => SERVER_DELAY_MS);
    const [a, b] = await Promise.all([agentProcess(), agentProcess()]);
    const run = runLoadTest(SCENARIO, { target: server.url, duration: '30s', rate: 50, agents: { urls: [a.url, b.url], token: TOKEN } });
    // Kill one agent once requests flow (the run has started on both).
    for (let i = 0; i < 600 && server.requests() < 20; i++) await new Promise((r) => setTimeout(r, 100));
    b.child.kill('SIGKILL');
    await expect(run).rejects.toThrow(new RegExp(`agent ${b.url.replace(/[.]/g, '\\.')} lost`));
    // The survivor was told to stop: it is free for the next run.
    const info = await fetch(`${a.url}/agent`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await info.json()).toMatchObject({ run: null });
  }, 400_000);
});

describe('an agent', () => {
  it('answers nobody without the shared token, listens on loopback by default and refuses a too-short token', async () => {
    const agent = await startAgent({ token: TOKEN, guardrails: DEFAULT_GUARDRAILS });
    agents.push(agent);
    expect(agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${agent.url}/agent`)).status).toBe(401);
    const wrong = await fetch(`${agent.url}/agent`, { headers: { authorization: 'Bearer agents-test-token-0123456780' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toMatch(/problem\+json/);
    const right = await fetch(`${agent.url}/agent`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await right.json()).toMatchObject({ protocol: 1, workers: 1, run: null });
    await expect(startAgent({ token: 'short', guardrails: DEFAULT_GUARDRAILS })).rejects.toThrow(/at least 16/);
  });

  it('applies its own guardrails and validates what it is asked to run (4xx, never a 5xx)', async () => {
    const agent = await startAgent({ token: TOKEN, guardrails: DEFAULT_GUARDRAILS });
    agents.push(agent);
    const prepare = (body: unknown) => fetch(`${agent.url}/runs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const valid = {
      runId: 'r1', scenario: SCENARIO, executor: { type: 'constant-arrival-rate', rate: 10, duration: '1s' },
      target: 'http://example.com/', baseTags: {}, shards: 1, shardIds: [0], gracefulStopMs: 1000,
    };
    const elsewhere = await prepare(valid);
    expect(elsewhere.status).toBe(422);
    expect(await elsewhere.json()).toMatchObject({ code: 'loadtest_guardrail', detail: expect.stringMatching(/example\.com/) });
    expect((await prepare({ ...valid, target: 'http://127.0.0.1:1/', executor: { type: 'constant-arrival-rate', rate: 10_000_000, duration: '1s' } })).status).toBe(422);
    expect((await prepare({ ...valid, target: 'http://127.0.0.1:1/', shardIds: [0, 1] })).status).toBe(400);
    expect((await prepare({ ...valid, target: 'http://127.0.0.1:1/', executor: { type: 'nope' } })).status).toBe(400);
    expect((await prepare({ ...valid, target: 'http://127.0.0.1:1/', scenario: 'builtin:nope' })).status).toBe(400);
    expect((await prepare({ ...valid, runId: '../x' })).status).toBe(400);
    expect((await fetch(`${agent.url}/runs/none/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });
});
