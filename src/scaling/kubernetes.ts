/**
 * deploy/kubernetes/, generated from the same definition as the local autoscaler's defaults
 * (DEFAULT_SCALING_CONFIG in hpa.ts): min, max, targets, stabilization windows and rate-limit policies
 * cannot drift between `tachyon cluster --autoscale` and the HorizontalPodAutoscaler.
 *   node bin/run-ts.js scripts/write-kubernetes.ts   (test/scaling/kubernetes.test.ts fails while they differ)
 * Layout: a Kustomize base (Deployment with probes, resources and a preStop drain; Service) and two
 * overlays: `embedded` (one replica, PGlite on a volume, Recreate) and `scaled` (PostgreSQL and Redis
 * from a Secret; HPA v2 on CPU, memory and custom metrics through the Prometheus adapter; PDB; VPA in
 * recommendation mode).
 */
import { stringify } from 'yaml';
import { DEFAULT_SCALING_CONFIG, type DirectionBehavior, type ScalingConfig } from './hpa.ts';

const NAME = 'tachyon';
const PORT = 3000;
const labels = { 'app.kubernetes.io/name': NAME };
/**
 * docs/capacity-planning.md: one core for the engine and HTTP; ~435 MiB for the whole platform with the
 * embedded database, less with DATABASE_URL. The memory budget the memory target is measured against
 * (TACHYON_MEMORY_LIMIT_MB) is the container's limit.
 */
const RESOURCES = { cpuRequest: '1', cpuLimit: '2', memoryRequestMi: 512, memoryLimitMi: 1024 };
/** Readiness goes 503 at SIGTERM; the pod keeps serving this long so endpoints and proxies stop sending first. */
const DRAIN_DELAY_MS = 5_000;

type Manifest = Record<string, unknown>;

function deployment(): Manifest {
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: 'http' }, periodSeconds, timeoutSeconds: 2, failureThreshold });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, labels },
    spec: {
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics', 'prometheus.io/port': String(PORT) } },
        spec: {
          terminationGracePeriodSeconds: 45,
          containers: [
            {
              name: NAME,
              image: `${NAME}:latest`,
              args: ['start'],
              ports: [{ name: 'http', containerPort: PORT }],
              env: [
                { name: 'HOST', value: '0.0.0.0' },
                { name: 'PORT', value: String(PORT) },
                { name: 'TACHYON_TRUST_PROXY', value: 'true' },
                { name: 'TACHYON_MEMORY_LIMIT_MB', value: String(RESOURCES.memoryLimitMi) },
                { name: 'TACHYON_DRAIN_DELAY_MS', value: String(DRAIN_DELAY_MS) },
              ],
              resources: {
                requests: { cpu: RESOURCES.cpuRequest, memory: `${RESOURCES.memoryRequestMi}Mi` },
                limits: { cpu: RESOURCES.cpuLimit, memory: `${RESOURCES.memoryLimitMi}Mi` },
              },
              // First start migrates and may seed history: up to 5 minutes before liveness applies.
              startupProbe: probe('/api/health', 5, 60),
              livenessProbe: probe('/api/health', 10, 3),
              readinessProbe: probe('/api/health/ready', 2, 2),
              // The platform drains on SIGTERM itself (readiness 503, then closes); the hook only gives
              // the endpoints controller time to take the pod out before the signal.
              lifecycle: { preStop: { exec: { command: ['node', '-e', 'setTimeout(() => {}, 2000)'] } } },
            },
          ],
        },
      },
    },
  };
}

function service(): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NAME, labels },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

function behavior(direction: DirectionBehavior): Manifest {
  return {
    stabilizationWindowSeconds: direction.stabilizationWindowMs / 1000,
    selectPolicy: direction.selectPolicy,
    policies: direction.policies.map((p) => ({ type: p.type === 'percent' ? 'Percent' : 'Pods', value: p.value, periodSeconds: p.periodMs / 1000 })),
  };
}

/** HPA v2 with the same targets: CPU against the 1-core request, memory against the limit (the instance budget), custom metrics by name. */
function hpa(config: ScalingConfig): Manifest {
  const t = config.targets;
  const metrics: Manifest[] = [];
  if (t.cpu !== undefined) metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: Math.round(t.cpu * 100) } } });
  if (t.memory !== undefined) metrics.push({ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: `${Math.round(t.memory * RESOURCES.memoryLimitMi)}Mi` } } });
  // Per pod, through the Prometheus adapter (deploy/kubernetes/scaled/prometheus-adapter-rules.yaml).
  const pods = (name: string, value: number) => ({ type: 'Pods', pods: { metric: { name }, target: { type: 'AverageValue', averageValue: String(value) } } });
  if (t.websocketConnections !== undefined) metrics.push(pods('tachyon_websocket_connections', t.websocketConnections));
  if (t.eventLoopP99Ms !== undefined) metrics.push(pods('tachyon_eventloop_lag_p99_milliseconds', t.eventLoopP99Ms));
  if (t.httpP95Ms !== undefined) metrics.push(pods('tachyon_http_p95_milliseconds', t.httpP95Ms));
  // The task queue is shared (BullMQ in Redis): an External metric, divided by the pods (AverageValue), as the local autoscaler does.
  if (t.queueDepth !== undefined) metrics.push({ type: 'External', external: { metric: { name: 'tachyon_task_queue_depth' }, target: { type: 'AverageValue', averageValue: String(t.queueDepth) } } });
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: NAME, labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
      minReplicas: config.minInstances,
      maxReplicas: config.maxInstances,
      metrics,
      behavior: { scaleUp: behavior(config.scaleUp), scaleDown: behavior(config.scaleDown) },
    },
  };
}

/** Rules for the Prometheus adapter that expose the custom metrics the HPA names. */
function adapterRules(): Manifest {
  const rule = (seriesQuery: string, as: string, metricsQuery: string) => ({
    seriesQuery,
    resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
    name: { as },
    metricsQuery,
  });
  return {
    rules: [
      rule('tachyon_websocket_connections{namespace!="",pod!=""}', 'tachyon_websocket_connections', 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'),
      rule('nodejs_eventloop_lag_p99_seconds{namespace!="",pod!=""}', 'tachyon_eventloop_lag_p99_milliseconds', 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>) * 1000'),
      rule(
        'tachyon_http_request_duration_seconds_bucket{namespace!="",pod!=""}',
        'tachyon_http_p95_milliseconds',
        'histogram_quantile(0.95, sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (le, <<.GroupBy>>)) * 1000',
      ),
    ],
    externalRules: [
      {
        seriesQuery: 'tachyon_task_queue_depth{namespace!=""}',
        resources: { overrides: { namespace: { resource: 'namespace' } } },
        name: { as: 'tachyon_task_queue_depth' },
        // Every pod reports the same shared queue: take one value, not the sum.
        metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>})',
      },
    ],
  };
}

function pdb(): Manifest {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: NAME, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } };
}

function vpa(): Manifest {
  return {
    apiVersion: 'autoscaling.k8s.io/v1',
    kind: 'VerticalPodAutoscaler',
    metadata: { name: NAME, labels },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
      // Recommendations only: the HPA scales on CPU and memory, and both acting on the same resources would fight.
      updatePolicy: { updateMode: 'Off' },
      resourcePolicy: { containerPolicies: [{ containerName: NAME, controlledResources: ['cpu', 'memory'] }] },
    },
  };
}

/** Every generated file under deploy/kubernetes/, by relative path, as the documents it holds. */
export function kubernetesManifests(config: ScalingConfig = DEFAULT_SCALING_CONFIG): Record<string, Manifest[]> {
  const kustomization = (resources: string[], extra: Manifest = {}) => [{ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources, ...extra }];
  return {
    'base/deployment.yaml': [deployment()],
    'base/service.yaml': [service()],
    'base/kustomization.yaml': kustomization(['deployment.yaml', 'service.yaml'], { labels: [{ pairs: labels, includeSelectors: false }] }),
    'embedded/data-volume.yaml': [
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${NAME}-data`, labels }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
    ],
    'embedded/kustomization.yaml': kustomization(['../base', 'data-volume.yaml'], {
      // The embedded database belongs to one process: one replica, never two at once.
      patches: [
        {
          target: { kind: 'Deployment', name: NAME },
          patch: stringify([
            { op: 'replace', path: '/spec/strategy', value: { type: 'Recreate' } },
            { op: 'add', path: '/spec/replicas', value: 1 },
            { op: 'add', path: '/spec/template/spec/volumes', value: [{ name: 'data', persistentVolumeClaim: { claimName: `${NAME}-data` } }] },
            { op: 'add', path: '/spec/template/spec/containers/0/volumeMounts', value: [{ name: 'data', mountPath: '/data' }] },
            { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'TACHYON_DATA_DIR', value: '/data' } },
          ]),
        },
      ],
    }),
    'scaled/hpa.yaml': [hpa(config)],
    'scaled/pdb.yaml': [pdb()],
    'scaled/vpa.yaml': [vpa()],
    'scaled/prometheus-adapter-rules.yaml': [adapterRules()],
    'scaled/kustomization.yaml': kustomization(['../base', 'hpa.yaml', 'pdb.yaml', 'vpa.yaml'], {
      // DATABASE_URL (through PgBouncer or straight to PostgreSQL) and REDIS_URL come from a Secret the operator creates.
      patches: [
        {
          target: { kind: 'Deployment', name: NAME },
          patch: stringify([{ op: 'add', path: '/spec/template/spec/containers/0/envFrom', value: [{ secretRef: { name: `${NAME}-backends` } }] }]),
        },
      ],
    }),
  };
}

export function renderManifestFile(documents: Manifest[]): string {
  return `# Generated by src/scaling/kubernetes.ts from the autoscaler's defaults; edit the generator, not this file.\n${documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n')}`;
}
