/**
 * Writes deploy/kubernetes/ from src/scaling/kubernetes.ts (the local autoscaler's defaults) and
 * deploy/kubernetes/rollout/ from src/rollout/kubernetes.ts (the rollout defaults) and
 * deploy/kubernetes/loadtest/ from src/loadtest/distributed/kubernetes.ts (load agents):
 * `node bin/run-ts.js scripts/write-kubernetes.ts`; test/scaling/kubernetes.test.ts fails while the
 * committed files differ.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadtestManifests, renderLoadtestManifestFile } from '../src/loadtest/distributed/kubernetes.ts';
import { renderRolloutFile, rolloutManifests } from '../src/rollout/kubernetes.ts';
import { kubernetesManifests, renderManifestFile } from '../src/scaling/kubernetes.ts';

const root = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
const files = [
  ...Object.entries(kubernetesManifests()).map(([path, d]) => [path, renderManifestFile(d)]),
  ...Object.entries(rolloutManifests()).map(([path, d]) => [path, renderRolloutFile(d)]),
  ...Object.entries(loadtestManifests()).map(([path, d]) => [path, renderLoadtestManifestFile(d)]),
];
for (const [path, text] of files as Array<[string, string]>) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`wrote deploy/kubernetes/${path}`);
}
