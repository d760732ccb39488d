#!/usr/bin/env node
// Runs the compiled platform (dist/, built by scripts/build.mjs): no TypeScript loader in production.
// The build is checked against the sources first and redone when they changed, so a fresh clone,
// a pull or an edit never runs stale output. Development, benchmarks and tests run the sources.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';

let dist;
try {
  dist = ensureBuilt();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
// Stack traces name the TypeScript sources (npm start passes --enable-source-maps; `npx tachyon` may not).
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(dist, 'src/cli/main.js')).href);
