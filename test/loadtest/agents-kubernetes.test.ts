/**
 * deploy/kubernetes/loadtest/ is what src/loadtest/distributed/kubernetes.ts generates, every object
 * passes its schema (kubernetes-models), and the coordinator names exactly the agents the Job runs,
 * with the flags the CLI accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { Service } from 'kubernetes-models/v1';
import { AGENT_PORT, DEFAULT_AGENTS, agentUrls, loadtestManifests, renderLoadtestManifestFile } from '../../src/loadtest/distributed/kubernetes.ts';

const ROOT = 'deploy/kubernetes';
const files = loadtestManifests();

interface PodJob {
  metadata: { name: string };
  spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    template: { metadata: { labels: Record<string, string> }; spec: { subdomain?: string; containers: Array<{ args: string[]; env: Array<{ name: string }> }> } };
  };
}

function objects(): Array<{ kind: string } & Record<string, unknown>> {
  return Object.keys(files).flatMap((path) => parseAllDocuments(readFileSync(join(ROOT, path), 'utf8')).map((d) => d.toJS() as { kind: string }));
}

describe('deploy/kubernetes/loadtest', () => {
  it.each(Object.keys(files))('%s is checked in as generated', (path) => {
    expect(readFileSync(join(ROOT, path), 'utf8')).toBe(renderLoadtestManifestFile(files[path]!));
  });

  it('every object is valid against its schema, and a violation is caught', () => {
    const kinds: string[] = [];
    for (const object of objects()) {
      if (object.kind === 'Job') new Job(object as never).validate();
      else if (object.kind === 'Service') new Service(object as never).validate();
      else continue;
      kinds.push(object.kind);
    }
    expect(kinds.sort()).toEqual(['Job', 'Job', 'Service']);
    const broken = structuredClone(files['loadtest/agents.yaml']![1]!) as { spec: { completions: unknown } };
    broken.spec.completions = 'three';
    expect(() => new Job(broken as never).validate()).toThrow();
  });

  it('runs N agents as an Indexed Job under a headless Service, and the coordinator names exactly those agents', () => {
    const all = objects();
    const service = all.find((o) => o.kind === 'Service') as unknown as { metadata: { name: string }; spec: { clusterIP: string; selector: Record<string, string>; ports: Array<{ port: number }> } };
    const jobs = all.filter((o) => o.kind === 'Job') as unknown as PodJob[];
    const agentJob = jobs.find((j) => j.spec.completionMode === 'Indexed')!;
    const coordinator = jobs.find((j) => j !== agentJob)!;
    expect(agentJob.spec).toMatchObject({ completions: DEFAULT_AGENTS, parallelism: DEFAULT_AGENTS });
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.ports[0]!.port).toBe(AGENT_PORT);
    expect(agentJob.spec.template.spec.subdomain).toBe(service.metadata.name);
    expect(agentJob.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(coordinator.spec.template.metadata.labels).not.toMatchObject(service.spec.selector);

    const agent = agentJob.spec.template.spec.containers[0]!;
    expect(agent.args.slice(0, 2)).toEqual(['loadtest', 'agent']);
    expect(agent.args).toEqual(expect.arrayContaining(['--once', '--host', '0.0.0.0', '--port', String(AGENT_PORT)]));
    expect(agent.env.map((e) => e.name)).toEqual(expect.arrayContaining(['TACHYON_AGENT_TOKEN', 'TACHYON_LOADTEST_ALLOWED_HOSTS']));

    // Pod hostnames of an Indexed Job are <job>-<index>, resolvable under its subdomain Service.
    const urls = Array.from({ length: DEFAULT_AGENTS }, (_, i) => `http://${agentJob.metadata.name}-${i}.${service.metadata.name}:${AGENT_PORT}`);
    const args = coordinator.spec.template.spec.containers[0]!.args;
    const { values } = parseArgs({ args: args.slice(1), options: { scenario: { type: 'string' }, target: { type: 'string' }, agents: { type: 'string' }, 'agents-wait': { type: 'string' }, report: { type: 'string' } } });
    expect(values.agents?.split(',')).toEqual(urls);
    expect(agentUrls(DEFAULT_AGENTS)).toEqual(urls);
    expect(existsSync(join('scenarios', `${values.scenario}.ts`))).toBe(true);
  });

  it('generates any number of agents', () => {
    const job = loadtestManifests(7)['loadtest/agents.yaml']![1] as unknown as PodJob;
    expect(job.spec).toMatchObject({ completions: 7, parallelism: 7 });
    expect(() => new Job(job as never).validate()).not.toThrow();
  });
});
