/**
 * deploy/kubernetes/loadtest/: a distributed load test on Kubernetes, generated here so the agents'
 * flags, port and the coordinator's --agents list cannot drift apart:
 *   node bin/run-ts.js scripts/write-kubernetes.ts   (test/loadtest/agents-kubernetes.test.ts fails while they differ)
 *  - agents.yaml: a headless Service and an Indexed Job of N `tachyon loadtest agent --once` pods, each
 *    reachable as tachyon-loadtest-agent-<i>.tachyon-loadtest-agents:6565; every pod exits after its run.
 *  - coordinator.yaml: a Job running `tachyon loadtest --agents <those N URLs>` against the platform's
 *    Service, waiting for the agents to come up; its summary is in its log.
 * Both read the shared token from the Secret `tachyon-loadtest-agent` (key `token`), which the operator
 * creates; the coordinator also reads `admin-token` from it (optional) to create the VU accounts.
 */
import { stringify } from 'yaml';

export const AGENT_PORT = 6565;
export const DEFAULT_AGENTS = 3;
const JOB = 'tachyon-loadtest-agent';
const SERVICE = 'tachyon-loadtest-agents';
const SECRET = 'tachyon-loadtest-agent';
const IMAGE = 'tachyon:latest';
/** The platform's Service (deploy/kubernetes/base/service.yaml) on port 80. */
const TARGET_HOST = 'tachyon';
const labels = { 'app.kubernetes.io/name': 'tachyon-loadtest', 'app.kubernetes.io/component': 'agent' };
/** A run that outlives this is stuck: Kubernetes ends it (the coordinator then fails, naming the lost agent). */
const DEADLINE_SECONDS = 2 * 3600;

type Manifest = Record<string, unknown>;

const tokenEnv = { name: 'TACHYON_AGENT_TOKEN', valueFrom: { secretKeyRef: { name: SECRET, key: 'token' } } };
/** Agents send load only to the platform's Service (their own guardrail, whatever a coordinator asks). */
const allowedHostsEnv = { name: 'TACHYON_LOADTEST_ALLOWED_HOSTS', value: `${TARGET_HOST},${TARGET_HOST}.default.svc.cluster.local` };

/** The agents' URLs as the coordinator names them (pod hostname `<job>-<index>` under the headless Service). */
export function agentUrls(agents: number): string[] {
  return Array.from({ length: agents }, (_, i) => `http://${JOB}-${i}.${SERVICE}:${AGENT_PORT}`);
}

function agentService(): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, labels },
    spec: {
      clusterIP: 'None',
      selector: labels,
      // The coordinator connects while the agents start; it retries until they answer.
      publishNotReadyAddresses: true,
      ports: [{ name: 'agent', port: AGENT_PORT, targetPort: 'agent' }],
    },
  };
}

function agentJob(agents: number): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: JOB, labels },
    spec: {
      completionMode: 'Indexed',
      completions: agents,
      parallelism: agents,
      // A lost agent fails the run; starting it again would not rejoin it.
      backoffLimit: 0,
      activeDeadlineSeconds: DEADLINE_SECONDS,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          subdomain: SERVICE,
          restartPolicy: 'Never',
          containers: [{
            name: 'agent',
            image: IMAGE,
            args: ['loadtest', 'agent', '--host', '0.0.0.0', '--port', String(AGENT_PORT), '--workers', '1', '--once'],
            ports: [{ name: 'agent', containerPort: AGENT_PORT }],
            env: [tokenEnv, allowedHostsEnv],
            readinessProbe: { tcpSocket: { port: 'agent' }, periodSeconds: 2 },
            // One load-generating thread per agent: a core for it, a little for the agent's HTTP side.
            resources: { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1500m', memory: '512Mi' } },
          }],
        },
      },
    },
  };
}

function coordinatorJob(agents: number): Manifest {
  const name = 'tachyon-loadtest-coordinator';
  const coordinatorLabels = { ...labels, 'app.kubernetes.io/component': 'coordinator' };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: coordinatorLabels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: DEADLINE_SECONDS,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: coordinatorLabels },
        spec: {
          restartPolicy: 'Never',
          containers: [{
            name: 'coordinator',
            image: IMAGE,
            args: ['loadtest', '--scenario', 'load', '--target', `http://${TARGET_HOST}`, '--agents', agentUrls(agents).join(','), '--agents-wait', '300s', '--report', '/results'],
            env: [
              tokenEnv,
              allowedHostsEnv,
              { name: 'TACHYON_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: SECRET, key: 'admin-token', optional: true } } },
            ],
            volumeMounts: [{ name: 'results', mountPath: '/results' }],
            resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          }],
          volumes: [{ name: 'results', emptyDir: {} }],
        },
      },
    },
  };
}

/** Every generated file under deploy/kubernetes/loadtest/, by path relative to deploy/kubernetes/. */
export function loadtestManifests(agents = DEFAULT_AGENTS): Record<string, Manifest[]> {
  return {
    'loadtest/agents.yaml': [agentService(), agentJob(agents)],
    'loadtest/coordinator.yaml': [coordinatorJob(agents)],
    'loadtest/kustomization.yaml': [{ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['agents.yaml', 'coordinator.yaml'] }],
  };
}

export function renderLoadtestManifestFile(documents: Manifest[]): string {
  return `# Generated by src/loadtest/distributed/kubernetes.ts; edit the generator, not this file.\n${documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n')}`;
}
