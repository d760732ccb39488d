/**
 * The supervisor on real child processes: one that keeps dying young is restarted after a backoff
 * that doubles; one that was asked to stop gets SIGTERM, is not restarted, and is forgotten.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Supervisor, type SupervisorOptions } from '../../src/cluster/supervisor.ts';
import { sleep } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'tachyon-supervisor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Event = Parameters<NonNullable<SupervisorOptions['report']>>[0];

function node(name: string, script: string) {
  return { name, command: process.execPath, args: ['-e', script], env: process.env, logFile: join(dir, `${name}.log`) };
}

describe('Supervisor', () => {
  it('restarts a process that dies young with a doubling backoff', async () => {
    const events: Event[] = [];
    const supervisor = new Supervisor({ backoffMs: 20, maxBackoffMs: 80, healthyAfterMs: 60_000, report: (e) => events.push(e) });
    supervisor.add(node('crasher', 'process.exit(3)'));
    while (events.filter((e) => e.event === 'restarting').length < 4) await sleep(20);
    await supervisor.remove('crasher');
    const delays = events.filter((e) => e.event === 'restarting').map((e) => e.delayMs);
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
    expect(events.find((e) => e.event === 'exited')).toMatchObject({ code: 3 });
    expect(supervisor.names()).toEqual([]);
  });

  it('stops a process with SIGTERM and does not restart it', async () => {
    const events: Event[] = [];
    const supervisor = new Supervisor({ report: (e) => events.push(e) });
    supervisor.add(node('server', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"));
    const pid = supervisor.status().server!.pid;
    expect(pid).toBeGreaterThan(0);
    await supervisor.stop([['server']]);
    expect(events.map((e) => e.event)).toEqual(['started', 'stopped']);
    // Exit 0 from its handler, or the signal itself if it came before the handler was installed.
    expect(events[1]!.code === 0 || events[1]!.signal === 'SIGTERM').toBe(true);
    expect(supervisor.names()).toEqual([]);
  });

  it('treats a command that cannot be spawned as an early death', async () => {
    const events: Event[] = [];
    const supervisor = new Supervisor({ backoffMs: 10, report: (e) => events.push(e) });
    supervisor.add({ name: 'missing', command: join(dir, 'no-such-binary'), args: [], env: process.env, logFile: join(dir, 'missing.log') });
    while (!events.some((e) => e.event === 'restarting')) await sleep(10);
    await supervisor.remove('missing');
    expect(events.find((e) => e.event === 'restarting')).toMatchObject({ delayMs: 10 });
  });
});
