/**
 * deploy/kubernetes/ is what src/scaling/kubernetes.ts generates from the local autoscaler's defaults
 * (so the two cannot drift), every Kubernetes object in it passes its schema (kubernetes-models; KEDA's
 * ScaledObject with @kubernetes-models/keda, generated from KEDA's CRD), every Kustomization
 * names files that exist, and each overlay builds with kustomize.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { DEFAULT_SCALING_CONFIG } from '../../src/scaling/hpa.ts';
import { kubernetesManifests, renderManifestFile } from '../../src/scaling/kubernetes.ts';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';

const ROOT = 'deploy/kubernetes';
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const files = kubernetesManifests();
type Model = new (data: never) => { validate(): void };
const models: Record<string, Model> = {
  Deployment,
  Service,
  Ingress,
  ConfigMap,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  PersistentVolumeClaim,
  ScaledObject: ScaledObject as unknown as Model,
};

describe('deploy/kubernetes', () => {
  it.each(Object.keys(files))('%s is checked in as generated', (path) => {
    expect(readFileSync(join(ROOT, path), 'utf8')).toBe(renderManifestFile(files[path]!));
  });

  it('every Kubernetes object is valid against its schema', () => {
    const validated: string[] = [];
    for (const path of Object.keys(files)) {
      for (const doc of parseAllDocuments(readFileSync(join(ROOT, path), 'utf8'))) {
        const object = doc.toJS() as { kind?: string };
        const Model = object.kind ? models[object.kind] : undefined;
        if (!Model) continue;
        expect(() => new Model(object as never).validate(), path).not.toThrow();
        validated.push(object.kind!);
      }
    }
    const kinds = ['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service', 'Service'];
    expect(validated.sort()).toEqual([...kinds, 'ScaledObject'].sort());
  });

  it('a ScaledObject schema violation is caught', () => {
    const broken = structuredClone(files['keda/scaled-object.yaml']![0]!) as { spec: { minReplicaCount: unknown } };
    broken.spec.minReplicaCount = 'one';
    expect(() => new ScaledObject(broken as never).validate()).toThrow();
  });

  it('the KEDA ScaledObject has the HPA targets, bounds and behavior (one definition)', () => {
    const hpa = files['scaled/hpa.yaml']![0] as { spec: { minReplicas: number; maxReplicas: number; behavior: unknown; metrics: Array<{ type: string; resource?: { name: string; target: Record<string, unknown> } }> } };
    const scaled = files['keda/scaled-object.yaml']![0] as {
      spec: { minReplicaCount: number; maxReplicaCount: number; advanced: { horizontalPodAutoscalerConfig: { behavior: unknown } }; triggers: Array<{ type: string; metricType: string; metadata: Record<string, string> }> };
    };
    expect([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount]).toEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas]);
    expect(scaled.spec.advanced.horizontalPodAutoscalerConfig.behavior).toEqual(hpa.spec.behavior);
    const t = DEFAULT_SCALING_CONFIG.targets;
    const trigger = (type: string, query?: RegExp) => scaled.spec.triggers.find((x) => x.type === type && (!query || query.test(x.metadata.query ?? '')))!;
    expect(trigger('cpu').metadata.value).toBe(String(t.cpu! * 100));
    expect(trigger('memory').metadata.value).toBe(hpa.spec.metrics.find((m) => m.resource?.name === 'memory')!.resource!.target.averageValue);
    expect(trigger('prometheus', /tachyon_websocket_connections/).metadata.threshold).toBe(String(t.websocketConnections));
    expect(trigger('prometheus', /tachyon_task_queue_depth/).metadata.threshold).toBe(String(t.queueDepth));
    expect(scaled.spec.triggers).toHaveLength(Object.keys(t).length);
  });

  it('PgBouncer runs deploy/pgbouncer/pgbouncer.ini as it is, in transaction mode', () => {
    const [config] = files['scaled/pgbouncer.yaml']! as Array<{ kind: string; data: Record<string, string> }>;
    expect(config!.kind).toBe('ConfigMap');
    expect(config!.data['pgbouncer.ini']).toBe(readFileSync('deploy/pgbouncer/pgbouncer.ini', 'utf8'));
    expect(config!.data['pgbouncer.ini']).toMatch(/^pool_mode = transaction$/m);
  });

  it('a schema violation is caught (the validation can fail)', () => {
    const broken = structuredClone(files['scaled/hpa.yaml']![0]!) as { spec: { minReplicas: unknown } };
    broken.spec.minReplicas = 'one';
    expect(() => new HorizontalPodAutoscaler(broken as never).validate()).toThrow();
  });

  it('the HPA has the local autoscaler default min, max, windows and policies', () => {
    const hpa = files['scaled/hpa.yaml']![0] as { spec: { minReplicas: number; maxReplicas: number; behavior: { scaleDown: { stabilizationWindowSeconds: number }; scaleUp: { policies: unknown[] } } } };
    expect(hpa.spec.minReplicas).toBe(DEFAULT_SCALING_CONFIG.minInstances);
    expect(hpa.spec.maxReplicas).toBe(DEFAULT_SCALING_CONFIG.maxInstances);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(hpa.spec.behavior.scaleUp.policies).toEqual([
      { type: 'Percent', value: 100, periodSeconds: 15 },
      { type: 'Pods', value: 4, periodSeconds: 15 },
    ]);
  });

  it('every Kustomization names files or directories that exist', () => {
    for (const path of Object.keys(files).filter((p) => p.endsWith('kustomization.yaml'))) {
      const { resources } = files[path]![0] as { resources: string[] };
      for (const resource of resources) expect(existsSync(join(ROOT, dirname(path), resource)), `${path}: ${resource}`).toBe(true);
    }
  });

  it.skipIf(!hasKubectl).each(['embedded', 'scaled', 'keda'])('the %s overlay builds with kustomize into valid objects', (overlay) => {
    const build = spawnSync('kubectl', ['kustomize', join(ROOT, overlay)], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const objects = parseAllDocuments(build.stdout).map((d) => d.toJS() as { kind: string; spec?: { replicas?: number } });
    for (const object of objects) if (models[object.kind]) expect(() => new models[object.kind]!(object as never).validate(), object.kind).not.toThrow();
    const kinds = objects.map((o) => o.kind).sort();
    const scaled = ['ConfigMap', 'Deployment', 'Deployment', 'Ingress', 'PodDisruptionBudget', 'Service', 'Service', 'VerticalPodAutoscaler'];
    if (overlay === 'embedded') {
      expect(kinds).toEqual(['Deployment', 'Ingress', 'PersistentVolumeClaim', 'Service']);
      expect(objects.find((o) => o.kind === 'Deployment')?.spec?.replicas).toBe(1);
    } else if (overlay === 'scaled') {
      expect(kinds).toEqual([...scaled, 'HorizontalPodAutoscaler'].sort());
    } else {
      // The ScaledObject replaces the HPA: KEDA creates its own.
      expect(kinds).toEqual([...scaled, 'ScaledObject'].sort());
    }
  });
});
