/**
 * deploy/kubernetes/ is what src/scaling/kubernetes.ts generates from the local autoscaler's defaults
 * (so the two cannot drift), every Kubernetes object in it passes its schema (kubernetes-models), and
 * every Kustomization names files that exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { DEFAULT_SCALING_CONFIG } from '../../src/scaling/hpa.ts';
import { kubernetesManifests, renderManifestFile } from '../../src/scaling/kubernetes.ts';

const ROOT = 'deploy/kubernetes';
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const files = kubernetesManifests();
const models: Record<string, new (data: never) => { validate(): void }> = {
  Deployment,
  Service,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  PersistentVolumeClaim,
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
    expect(validated.sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service']);
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

  it.skipIf(!hasKubectl).each(['embedded', 'scaled'])('the %s overlay builds with kustomize into valid objects', (overlay) => {
    const build = spawnSync('kubectl', ['kustomize', join(ROOT, overlay)], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const objects = parseAllDocuments(build.stdout).map((d) => d.toJS() as { kind: string; spec?: { replicas?: number } });
    for (const object of objects) if (models[object.kind]) expect(() => new models[object.kind]!(object as never).validate(), object.kind).not.toThrow();
    const kinds = objects.map((o) => o.kind).sort();
    if (overlay === 'embedded') {
      expect(kinds).toEqual(['Deployment', 'PersistentVolumeClaim', 'Service']);
      expect(objects.find((o) => o.kind === 'Deployment')?.spec?.replicas).toBe(1);
    } else {
      expect(kinds).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'VerticalPodAutoscaler']);
    }
  });
});
