/**
 * Reference process for the memory benchmark: node:http plus an empty embedded database opened
 * exactly as the platform opens it (openEmbedded on a fresh data directory), and nothing else.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { openEmbedded } from '../../src/db/pglite.ts';

const dir = mkdtempSync(join(tmpdir(), 'tachyon-bench-pglite-'));
const db = await openEmbedded(join(dir, 'pglite'), { optimizingCompiler: loadConfig({}).databaseWasmOptimize });
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () =>
  server.close(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }),
);
