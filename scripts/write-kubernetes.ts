/**
 * Writes deploy/kubernetes/ from src/scaling/kubernetes.ts (the local autoscaler's defaults):
 * `node bin/run-ts.js scripts/write-kubernetes.ts`; test/scaling/kubernetes.test.ts fails while the
 * committed files differ.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadtestManifests, renderLoadtestManifestFile } from '../src/loadtest/distributed/kubernetes.ts';
import { kubernetesManifests, renderManifestFile } from '../src/scaling/kubernetes.ts';

const root = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
for (const [path, documents] of Object.entries(kubernetesManifests())) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), renderManifestFile(documents));
  console.log(`wrote deploy/kubernetes/${path}`);
}
for (const [path, documents] of Object.entries(loadtestManifests())) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), renderLoadtestManifestFile(documents));
  console.log(`wrote deploy/kubernetes/${path}`);
}
