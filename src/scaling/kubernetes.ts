/**
 * deploy/kubernetes/, generated from the same definition as the local autoscaler's defaults
 * (DEFAULT_SCALING_CONFIG in hpa.ts): min, max, targets, stabilization windows and rate-limit policies
 * cannot drift between `tachyon cluster --autoscale` and the HorizontalPodAutoscaler.
 *   node bin/run-ts.js scripts/write-kubernetes.ts   (test/scaling/kubernetes.test.ts fails while they differ)
 * Layout: a Kustomize base (Deployment with probes, resources and a preStop drain; Service; an Ingress
 * front) and three overlays: `embedded` (one replica, PGlite on a volume, Recreate), `scaled` (PostgreSQL
 * through PgBouncer and Redis from a Secret; HPA v2 on CPU, memory and custom metrics through the Prometheus
 * adapter; PDB; VPA in recommendation mode; PgBouncer from deploy/pgbouncer/pgbouncer.ini) and `keda`
 * (`scaled` with a KEDA ScaledObject instead of the HPA: the same targets and behavior, Prometheus triggers).
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { projectPath } from '../kernel/project-files.ts';
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

/**
 * The front: WebSocket upgrades pass through an Ingress controller (ingress-nginx) with the same hour-long
 * idle timeout HAProxy gives tunnels locally; requests are spread by the controller's round robin.
 */
function ingress(): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: NAME,
      labels,
      annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600', 'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600' },
    },
    spec: {
      ingressClassName: 'nginx',
      rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: NAME, port: { name: 'http' } } } }] } }],
    },
  };
}

const PGBOUNCER = `${NAME}-pgbouncer`;
const PGBOUNCER_PORT = 6432;

/**
 * PgBouncer in transaction mode with deploy/pgbouncer/pgbouncer.ini as it is (upstream host `postgres`), its
 * userlist from a Secret the operator creates; two replicas behind a Service, each holding at most
 * default_pool_size server connections.
 */
function pgbouncer(): Manifest[] {
  const pgLabels = { 'app.kubernetes.io/name': PGBOUNCER };
  const port = { tcpSocket: { port: 'pgbouncer' }, periodSeconds: 5 };
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: PGBOUNCER, labels: pgLabels }, data: { 'pgbouncer.ini': readFileSync(projectPath('deploy/pgbouncer/pgbouncer.ini'), 'utf8') } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: PGBOUNCER, labels: pgLabels },
      spec: {
        replicas: 2,
        selector: { matchLabels: pgLabels },
        template: {
          metadata: { labels: pgLabels },
          spec: {
            containers: [
              {
                name: 'pgbouncer',
                // Any image with pgbouncer 1.21+ on its PATH (Debian's package, as test/db/pgbouncer.test.ts runs).
                image: 'ghcr.io/cloudnative-pg/pgbouncer:1.23.0',
                command: ['pgbouncer', '/etc/pgbouncer/pgbouncer.ini'],
                ports: [{ name: 'pgbouncer', containerPort: PGBOUNCER_PORT }],
                readinessProbe: port,
                livenessProbe: { ...port, periodSeconds: 10 },
                resources: { requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '1', memory: '128Mi' } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/pgbouncer/pgbouncer.ini', subPath: 'pgbouncer.ini' },
                  { name: 'users', mountPath: '/etc/pgbouncer/userlist.txt', subPath: 'userlist.txt' },
                  { name: 'log', mountPath: '/var/log/pgbouncer' },
                  { name: 'run', mountPath: '/var/run/pgbouncer' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: PGBOUNCER } },
              { name: 'users', secret: { secretName: `${PGBOUNCER}-users` } },
              { name: 'log', emptyDir: {} },
              { name: 'run', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: PGBOUNCER, labels: pgLabels },
      spec: { selector: pgLabels, ports: [{ name: 'pgbouncer', port: PGBOUNCER_PORT, targetPort: 'pgbouncer' }] },
    },
  ];
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

const PROMETHEUS = 'http://prometheus.monitoring.svc:9090';
/** The Deployment's pods, as the Prometheus adapter's rules select them. */
const PODS = `pod=~"${NAME}-.+"`;

/**
 * The KEDA alternative to the HPA: the same min, max, targets and behavior (KEDA creates the HPA from them).
 * Custom metrics through Prometheus triggers, each a sum over the pods compared per pod (AverageValue), as the
 * local autoscaler averages over its instances; the shared task queue's depth is one value divided by the pods.
 * No Redis trigger: KEDA's counts a Redis list (LLEN), and BullMQ keeps prioritized jobs (all of the
 * platform's) in a sorted set, so it would read 0; the queue depth comes from the instances' own gauge.
 */
function scaledObject(config: ScalingConfig): Manifest {
  const t = config.targets;
  const prometheus = (query: string, threshold: number) => ({ type: 'prometheus', metricType: 'AverageValue', metadata: { serverAddress: PROMETHEUS, query, threshold: String(threshold) } });
  const triggers: Manifest[] = [];
  if (t.cpu !== undefined) triggers.push({ type: 'cpu', metricType: 'Utilization', metadata: { value: String(Math.round(t.cpu * 100)) } });
  if (t.memory !== undefined) triggers.push({ type: 'memory', metricType: 'AverageValue', metadata: { value: `${Math.round(t.memory * RESOURCES.memoryLimitMi)}Mi` } });
  if (t.websocketConnections !== undefined) triggers.push(prometheus(`sum(tachyon_websocket_connections{${PODS}})`, t.websocketConnections));
  if (t.eventLoopP99Ms !== undefined) triggers.push(prometheus(`sum(nodejs_eventloop_lag_p99_seconds{${PODS}}) * 1000`, t.eventLoopP99Ms));
  if (t.httpP95Ms !== undefined) {
    triggers.push(prometheus(`sum(histogram_quantile(0.95, sum by (le, pod) (rate(tachyon_http_request_duration_seconds_bucket{${PODS}}[1m])))) * 1000`, t.httpP95Ms));
  }
  if (t.queueDepth !== undefined) triggers.push(prometheus(`max(tachyon_task_queue_depth{${PODS}})`, t.queueDepth));
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: NAME, labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
      minReplicaCount: config.minInstances,
      maxReplicaCount: config.maxInstances,
      // HPA's sync period, as `tachyon cluster --autoscale`'s default interval.
      pollingInterval: 15,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: behavior(config.scaleUp), scaleDown: behavior(config.scaleDown) } } },
      triggers,
    },
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
    'base/ingress.yaml': [ingress()],
    'base/kustomization.yaml': kustomization(['deployment.yaml', 'service.yaml', 'ingress.yaml'], { labels: [{ pairs: labels, includeSelectors: false }] }),
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
    'scaled/pgbouncer.yaml': pgbouncer(),
    'scaled/kustomization.yaml': kustomization(['../base', 'hpa.yaml', 'pdb.yaml', 'vpa.yaml', 'pgbouncer.yaml'], {
      // DATABASE_URL (through PgBouncer or straight to PostgreSQL) and REDIS_URL come from a Secret the operator creates.
      patches: [
        {
          target: { kind: 'Deployment', name: NAME },
          patch: stringify([{ op: 'add', path: '/spec/template/spec/containers/0/envFrom', value: [{ secretRef: { name: `${NAME}-backends` } }] }]),
        },
      ],
    }),
    'keda/scaled-object.yaml': [scaledObject(config)],
    // `scaled` with the ScaledObject in place of the HPA (KEDA creates its own; two HPAs on one Deployment fight).
    'keda/kustomization.yaml': kustomization(['../scaled', 'scaled-object.yaml'], {
      patches: [{ patch: stringify({ $patch: 'delete', apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: NAME } }) }],
    }),
  };
}

export function renderManifestFile(documents: Manifest[]): string {
  return `# Generated by src/scaling/kubernetes.ts from the autoscaler's defaults; edit the generator, not this file.\n${documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n')}`;
}
