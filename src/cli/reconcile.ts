/** `tachyon reconcile`: checks positions against fills and cash against its flows; exits 1 on any difference. */
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { reconcile } from '../trading/reconcile.ts';

export async function run(): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const report = await reconcile(db);
    for (const problem of report.problems) console.error(problem);
    const summary = `${report.accounts} accounts, ${report.positions} positions, ${report.orders} orders`;
    if (report.problems.length > 0) {
      console.error(`reconcile: ${report.problems.length} difference(s) in ${summary}`);
      return 1;
    }
    console.log(`reconcile: ok (${summary})`);
    return 0;
  } finally {
    await db.close();
  }
}
