/**
 * The dashboard's built files (dashboard/dist), read once into memory: a few hundred KB, and every
 * request for them is then a map lookup. Hashed files come with their .br/.gz variants written by the
 * build (dashboard/build/plugins.ts), so nothing is compressed per request.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { projectPath } from '../kernel/project-files.ts';

/** Where `npm run dashboard:build` writes the app (dashboard/vite.config.ts). */
export const DASHBOARD_DIST = projectPath('dashboard/dist/');

export interface Asset {
  type: string;
  identity: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

export interface DashboardAssets {
  /** undefined when the dashboard was not built. */
  index: Buffer | undefined;
  /** The service worker (dashboard/build/service-worker.ts), undefined in a build without one. */
  serviceWorker: Buffer | undefined;
  /** Hashed files under assets/, by file name. */
  hashed: Map<string, Asset>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Reads the build; a file that vanishes meanwhile (a rebuild empties dist/) is left out rather than failing the start. */
export function loadDashboardAssets(dir: string): DashboardAssets {
  const index = readIfPresent(join(dir, 'index.html'));
  const serviceWorker = readIfPresent(join(dir, 'sw.js'));
  const hashed = new Map<string, Asset>();
  const assetsDir = join(dir, 'assets');
  if (!existsSync(assetsDir)) return { index, serviceWorker, hashed };
  for (const name of readdirSync(assetsDir)) {
    if (name.endsWith('.br') || name.endsWith('.gz')) continue;
    const path = join(assetsDir, name);
    const identity = readIfPresent(path);
    if (identity) hashed.set(name, { type: TYPES[extname(name)] ?? 'application/octet-stream', identity, br: readIfPresent(`${path}.br`), gzip: readIfPresent(`${path}.gz`) });
  }
  return { index, serviceWorker, hashed };
}

function readIfPresent(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The variant to send for an Accept-Encoding header: brotli, then gzip, then the file itself (q=0 refuses). */
export function pickEncoding(asset: Asset, acceptEncoding: string | undefined): { encoding: 'br' | 'gzip' | undefined; body: Buffer } {
  const accepted = new Set<string>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) accepted.add(name);
  }
  if (asset.br && (accepted.has('br') || accepted.has('*'))) return { encoding: 'br', body: asset.br };
  if (asset.gzip && (accepted.has('gzip') || accepted.has('*'))) return { encoding: 'gzip', body: asset.gzip };
  return { encoding: undefined, body: asset.identity };
}
