/**
 * Child-process entry: creates a fresh PGlite cluster in the directory given as the only argument,
 * then exits. See initEmbeddedDataDir for why initdb does not run in the serving process.
 */
import { PGlite } from '@electric-sql/pglite';
import { INITDB_PARAMS } from './pglite-init.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: pglite-initdb <empty directory>');
  process.exit(2);
}
const db = new PGlite({ dataDir: dir, initDbStartParams: INITDB_PARAMS });
await db.waitReady;
await db.close();
