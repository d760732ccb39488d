/**
 * deploy/kubernetes/rollout/ is what src/rollout/kubernetes.ts generates, its Rollout and
 * AnalysisTemplate pass the Argo Rollouts schemas (@kubernetes-models/argo-rollouts), the steps are the
 * API's defaults, and the queries read the series and routes the local judge reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AnalysisTemplate, Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1';
import { DEFAULT_ANALYSIS } from '../../src/rollout/analysis.ts';
import { EXCLUDED_ROUTE_PREFIXES } from '../../src/rollout/instance-window.ts';
import { analysisQueries, renderRolloutFile, rolloutManifests } from '../../src/rollout/kubernetes.ts';
import { DEFAULT_STEPS } from '../../src/rollout/routes.ts';

const ROOT = 'deploy/kubernetes';
const files = rolloutManifests();
const read = (path: string) => parseAllDocuments(readFileSync(join(ROOT, path), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);

describe('deploy/kubernetes/rollout', () => {
  it.each(Object.keys(files))('%s is checked in as generated', (path) => {
    expect(readFileSync(join(ROOT, path), 'utf8')).toBe(renderRolloutFile(files[path]!));
  });

  it('the Rollout and the AnalysisTemplate are valid against the Argo Rollouts schemas', () => {
    const [rollout] = read('rollout/rollout.yaml');
    const [template] = read('rollout/analysis-template.yaml');
    expect(() => new Rollout(rollout as never).validate()).not.toThrow();
    expect(() => new AnalysisTemplate(template as never).validate()).not.toThrow();
  });

  it('a schema violation is caught (the validation can fail)', () => {
    const [rollout] = read('rollout/rollout.yaml') as Array<{ spec: { strategy: { canary: { steps: Array<Record<string, unknown>> } } } }>;
    rollout!.spec.strategy.canary.steps[0] = { setWeight: 'five' };
    expect(() => new Rollout(rollout as never).validate()).toThrow();
  });

  it('walks the API default steps with an analysis after each weight', () => {
    const [rollout] = read('rollout/rollout.yaml') as Array<{ spec: { strategy: { canary: { steps: Array<{ setWeight?: number; analysis?: { templates: Array<{ templateName: string }> } }> } } } }>;
    const steps = rollout!.spec.strategy.canary.steps;
    expect(steps.filter((s) => s.setWeight !== undefined).map((s) => s.setWeight)).toEqual(DEFAULT_STEPS.filter((s) => s < 100));
    expect(steps.map((s) => (s.setWeight !== undefined ? 'weight' : s.analysis?.templates[0]?.templateName))).toEqual(['weight', 'tachyon-canary', 'weight', 'tachyon-canary', 'weight', 'tachyon-canary']);
  });

  it('queries the local judge metrics on the same series, leaving out the same routes', () => {
    const queries = analysisQueries();
    expect(Object.keys(queries)).toEqual(['p95', 'p99', 'errorRate', 'orderRejections', 'eventLoopDelay']);
    for (const prefix of EXCLUDED_ROUTE_PREFIXES) expect(queries.p99!.query).toContain(`${prefix}.*`);
    expect(queries.p99!.query).toMatch(/^histogram_quantile\(0\.99, \(sum by \(le\) \(rate\(tachyon_http_request_duration_seconds_bucket\{rollouts_pod_template_hash="\{\{args\.canary-hash\}\}"/);
    // Each instance's own time, as the local judge: a forwarded request's total moved to its own time.
    expect(queries.p99!.query).toContain(' - sum by (le) (rate(tachyon_http_forwarded_request_duration_seconds_bucket{rollouts_pod_template_hash="{{args.canary-hash}}"');
    expect(queries.p99!.query).toMatch(/time="total"\}\[60s\]\)\) \+ sum by \(le\) \(rate\(tachyon_http_forwarded_request_duration_seconds_bucket\{.*?time="own"\}/);
    expect(queries.orderRejections!.query).toContain('tachyon_order_rejections_total');
    expect(queries.eventLoopDelay!.query).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(queries.p95!.successCondition).toBe(`isNaN(result[0]) || result[0] < ${DEFAULT_ANALYSIS.minRatio}`);
    const [template] = read('rollout/analysis-template.yaml') as Array<{ spec: { metrics: Array<{ name: string; provider: { prometheus: { query: string } } }> } }>;
    expect(template!.spec.metrics.map((m) => [m.name, m.provider.prometheus.query])).toEqual(Object.entries(queries).map(([name, q]) => [name, q.query]));
  });

  it('points the HPA at the Rollout', () => {
    const [kustomization] = read('rollout/kustomization.yaml') as Array<{ resources: string[]; patches: Array<{ patch: string }> }>;
    expect(kustomization!.resources).toEqual(['../scaled', 'rollout.yaml', 'analysis-template.yaml']);
    expect(kustomization!.patches[0]!.patch).toContain('kind: Rollout');
  });
});
