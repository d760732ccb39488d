#!/usr/bin/env node
/**
 * The production build: src/ and scenarios/ compiled by `tsc -p tsconfig.build.json` into dist/ (the
 * same tree one level down), with the files tsc does not emit (migrations) copied beside their
 * modules, and stamped with a hash of what it was built from. bin/tachyon.js calls ensureBuilt()
 * before every start, so a changed, added or removed source rebuilds instead of running stale code.
 *
 * Plain JavaScript, because it must run before anything can load TypeScript. The build only emits
 * (--noCheck, a few seconds); type checking is `npm run typecheck`, which `npm test` runs.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Everything the output depends on; the compiler itself comes from the lock file. */
const INPUTS = ['src', 'scenarios', 'tsconfig.json', 'tsconfig.build.json'];
const COMPILED_INPUTS = ['src', 'scenarios'];
const STAMP = '.build-stamp';

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => filesUnder(join(path, name)));
}

/** A hash of the inputs' paths and contents (not their times: a checkout or copy can set any mtime). */
export function fingerprint(root = ROOT) {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(root, input)))) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function stampOf(dir) {
  try {
    return readFileSync(join(dir, STAMP), 'utf8');
  } catch {
    return undefined;
  }
}

/** True when `root`/dist was built from the sources as they are now. */
export function isFresh(root = ROOT) {
  return stampOf(join(root, 'dist')) === fingerprint(root);
}

/**
 * Builds into a staging directory and swaps it in, so a failed or interrupted build never leaves a
 * half-written dist/; two processes building at once both end with the same complete output.
 */
export function build(root = ROOT, { log = (line) => process.stderr.write(line + '\n') } = {}) {
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('dist/ is missing or older than the sources, and TypeScript (a dev dependency) is not installed to rebuild it: run npm install');
  }
  const stamp = fingerprint(root);
  const dist = join(root, 'dist');
  const staging = join(root, `.dist-building-${process.pid}`);
  const old = join(root, `.dist-old-${process.pid}`);
  log('Building dist/ from the sources (tsc -p tsconfig.build.json)…');
  try {
    rmSync(staging, { recursive: true, force: true });
    try {
      execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--noCheck', '--outDir', staging], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (error) {
      throw new Error(`the build failed:\n${String(error.stdout ?? '') + String(error.stderr ?? '') || error.message}`);
    }
    for (const input of COMPILED_INPUTS) {
      for (const file of filesUnder(join(root, input)).filter((f) => !f.endsWith('.ts'))) {
        const target = join(staging, relative(root, file));
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(file, target);
      }
    }
    writeFileSync(join(staging, STAMP), stamp);
    try {
      renameSync(dist, old);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    try {
      renameSync(staging, dist);
    } catch (error) {
      // Another process swapped in its build between our two renames: fine if it is the same one.
      if (stampOf(dist) !== stamp) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  return dist;
}

/** dist/ as the sources are now: rebuilt when stale, as shipped when there are no sources (an image of dist/ alone). */
export function ensureBuilt(root = ROOT, options) {
  if (!existsSync(join(root, 'src')) || isFresh(root)) return join(root, 'dist');
  return build(root, options);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    console.log(`built ${relative(process.cwd(), build()) || '.'}`);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
