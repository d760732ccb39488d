/**
 * deploy/kubernetes/rollout/: the Kubernetes form of a canary rollout, generated from the same steps,
 * window and thresholds as `tachyon rollout` (DEFAULT_STEPS, the API's default window, DEFAULT_ANALYSIS)
 * and from the same series the local judge scrapes (src/rollout/instance-window.ts):
 *  - an Argo Rollouts `Rollout` that takes the base Deployment's pod template (workloadRef) and walks
 *    setWeight 5 → 25 → 50 (→ 100 at the end), an analysis after each weight;
 *  - an `AnalysisTemplate` whose Prometheus queries compare the canary pods with the stable pods over the
 *    step's window: p95 and p99 latency, error rate, order rejections, event-loop delay. Argo's Prometheus
 *    provider judges a threshold per query, so each query is the canary's value against the stable one's
 *    (a ratio, or a difference for rates near zero and for event-loop delay) and passes below its threshold; the local
 *    judge's Mann-Whitney and Fisher tests need the raw buckets, which Argo offers through its Kayenta
 *    provider (Kayenta's judge is Mann-Whitney) where Kayenta is installed.
 * Pods are told apart by the `rollouts-pod-template-hash` label Argo sets; Prometheus must keep it as the
 * `rollouts_pod_template_hash` label (a relabel rule, docs/operations.md "Rollouts").
 *   node bin/run-ts.js scripts/write-kubernetes.ts   (test/rollout/kubernetes.test.ts fails while they differ)
 */
import { stringify } from 'yaml';
import { DEFAULT_ANALYSIS } from './analysis.ts';
import { EXCLUDED_ROUTE_PREFIXES } from './instance-window.ts';
import { DEFAULT_STEPS } from './routes.ts';

type Manifest = Record<string, unknown>;

const NAME = 'tachyon';
const TEMPLATE = `${NAME}-canary`;
const labels = { 'app.kubernetes.io/name': NAME };
/** The API's default window per step (StartRollout.stepSeconds). */
export const STEP_SECONDS = 60;

const selector = (hash: 'canary' | 'stable') => `rollouts_pod_template_hash="{{args.${hash}-hash}}"`;
const ROUTES = `route!~"${EXCLUDED_ROUTE_PREFIXES.map((p) => `${p}.*`).join('|')}"`;
const WINDOW = `[${STEP_SECONDS}s]`;

/** Each instance's own time, as the local judge (instance-window.ts): a forwarded request without finding its owner and waiting for its answer. */
function quantile(q: number, hash: 'canary' | 'stable'): string {
  const buckets = (metric: string, extra = '') => `sum by (le) (rate(${metric}{${selector(hash)},${ROUTES}${extra}}${WINDOW}))`;
  const all = buckets('tachyon_http_request_duration_seconds_bucket');
  const forwarded = (time: string) => buckets('tachyon_http_forwarded_request_duration_seconds_bucket', `,time="${time}"`);
  // Without forwarded requests their series are absent and the sum is empty: `or` falls back to every request whole.
  return `histogram_quantile(${q}, (${all} - ${forwarded('total')} + ${forwarded('own')}) or ${all})`;
}

function errorRate(hash: 'canary' | 'stable'): string {
  const requests = (extra: string) => `sum(rate(tachyon_http_request_duration_seconds_count{${selector(hash)},${ROUTES}${extra}}${WINDOW}))`;
  return `(${requests(',status_code=~"5.."')} or vector(0)) / ${requests('')}`;
}

function rejectionRate(hash: 'canary' | 'stable'): string {
  return `(sum(rate(tachyon_order_rejections_total{${selector(hash)}}${WINDOW})) or vector(0)) / sum(rate(tachyon_orders_total{${selector(hash)},outcome=~"accepted|rejected"}${WINDOW}))`;
}

function loopDelay(hash: 'canary' | 'stable'): string {
  return `avg(avg_over_time(nodejs_eventloop_lag_p99_seconds{${selector(hash)}}${WINDOW}))`;
}

/** The queries, by the local judge's metric names. */
export function analysisQueries(): Record<string, { query: string; successCondition: string }> {
  const ratio = DEFAULT_ANALYSIS.minRatio;
  // A ratio of two near-zero rates is noise: rates pass while the canary's stays within 0.1 percentage point of ratio × stable.
  const rateBelow = (canary: string, stable: string) => ({ query: `(${canary}) - ${ratio} * (${stable})`, successCondition: 'isNaN(result[0]) || result[0] <= 0.001' });
  return {
    p95: { query: `${quantile(0.95, 'canary')} / ${quantile(0.95, 'stable')}`, successCondition: `isNaN(result[0]) || result[0] < ${ratio}` },
    p99: { query: `${quantile(0.99, 'canary')} / ${quantile(0.99, 'stable')}`, successCondition: `isNaN(result[0]) || result[0] < ${ratio}` },
    errorRate: rateBelow(errorRate('canary'), errorRate('stable')),
    orderRejections: rateBelow(rejectionRate('canary'), rejectionRate('stable')),
    // The local judge's absolute floor: a difference, in seconds, between the two event loops' p99.
    eventLoopDelay: { query: `${loopDelay('canary')} - ${loopDelay('stable')}`, successCondition: `isNaN(result[0]) || result[0] < ${DEFAULT_ANALYSIS.minLoopDelayIncrease}` },
  };
}

function analysisTemplate(): Manifest {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: TEMPLATE, labels: { ...labels } },
    spec: {
      args: [{ name: 'canary-hash' }, { name: 'stable-hash' }, { name: 'prometheus-address', value: 'http://prometheus.monitoring.svc:9090' }],
      metrics: Object.entries(analysisQueries()).map(([name, { query, successCondition }]) => ({
        name,
        // One measurement at the end of the step's window; a failed one rolls back at once.
        initialDelay: `${STEP_SECONDS}s`,
        count: 1,
        failureLimit: 0,
        successCondition,
        provider: { prometheus: { address: '{{args.prometheus-address}}', query } },
      })),
    },
  };
}

function rollout(): Manifest {
  const analysis = () => ({
    analysis: {
      templates: [{ templateName: TEMPLATE }],
      args: [
        { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
        { name: 'stable-hash', valueFrom: { podTemplateHashValue: 'Stable' } },
      ],
    },
  });
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: NAME, labels: { ...labels } },
    spec: {
      // No replicas: the HPA of the scaled overlay sets them (the kustomization points it at the Rollout).
      selector: { matchLabels: { ...labels } },
      // The pod template is the base Deployment's (probes, drain, resources): one definition for both.
      workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME, scaleDown: 'progressively' },
      strategy: {
        canary: {
          steps: DEFAULT_STEPS.filter((s) => s < 100).flatMap((weight) => [{ setWeight: weight }, analysis()]),
        },
      },
    },
  };
}

/** deploy/kubernetes/rollout/, by file. */
export function rolloutManifests(): Record<string, Manifest[]> {
  return {
    'rollout/rollout.yaml': [rollout()],
    'rollout/analysis-template.yaml': [analysisTemplate()],
    'rollout/kustomization.yaml': [
      {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['../scaled', 'rollout.yaml', 'analysis-template.yaml'],
        // The HPA scales the Rollout, which owns the pods; the Deployment only lends its template (Argo scales it to 0).
        patches: [
          {
            target: { kind: 'HorizontalPodAutoscaler', name: NAME },
            patch: stringify([{ op: 'replace', path: '/spec/scaleTargetRef', value: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: NAME } }]),
          },
        ],
      },
    ],
  };
}

export function renderRolloutFile(documents: Manifest[]): string {
  return `# Generated by src/rollout/kubernetes.ts from the rollout defaults; edit the generator, not this file.\n${documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n')}`;
}
