/**
 * `tachyon reconcile`: checks positions against fills and cash against its flows; exits 1 on any
 * difference. Beside a running embedded server it asks that server (GET /api/admin/reconcile).
 */
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { reconcile, type ReconcileReport } from '../trading/reconcile.ts';
import { callServer, findLocalServer } from './local-server.ts';

export async function run(): Promise<number> {
  const config = loadConfig();
  const server = findLocalServer(config);
  const report = server ? await callServer<ReconcileReport>(server, 'GET', '/api/admin/reconcile') : await reconcileDirectly();
  for (const problem of report.problems) console.error(problem);
  const summary = `${report.accounts} accounts, ${report.positions} positions, ${report.orders} orders`;
  if (report.problems.length > 0) {
    console.error(`reconcile: ${report.problems.length} difference(s) in ${summary}`);
    return 1;
  }
  console.log(`reconcile: ok (${summary})`);
  return 0;

  async function reconcileDirectly(): Promise<ReconcileReport> {
    const db = await openDatabase(config);
    try {
      await migrate(db);
      return await reconcile(db);
    } finally {
      await db.close();
    }
  }
}
