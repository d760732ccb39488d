/**
 * The `tachyon` command. Each subcommand lives in its own module and is loaded on demand, so
 * `tachyon users create` does not pay for loading the whole server.
 */
import { ConfigError, TachyonError } from '../kernel/errors.ts';
import { keepTickShapesUnlessOff } from '../kernel/tick-shapes.ts';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  start: { summary: 'serve the API (seeds demo data on first start)', load: async () => (await import('./start.ts')).run },
  cluster: { summary: 'N instances behind HAProxy on this machine: cluster --instances N [--port 3000] (needs DATABASE_URL, REDIS_URL)', load: async () => (await import('./cluster.ts')).run },
  rollout: { summary: 'canary or blue-green release on tachyon cluster: rollout start|status|promote|abort|history', load: async () => (await import('./rollout.ts')).run },
  config: { summary: 'print the effective configuration (secrets redacted)', load: async () => (await import('./config.ts')).run },
  flags: { summary: 'feature flags: flags [list|set|rollout|reset|history]; flags experiment NAME --percent 10 --duration 60s compares the cohorts\' latency', load: async () => (await import('./flags.ts')).run },
  migrate: { summary: 'apply pending database migrations; migrate --down-to N [--yes] rolls back to N', load: async () => (await import('./migrate.ts')).run },
  seed: { summary: 'generate historical 1-minute bars: seed [--days N] (default TACHYON_SEED_DAYS, 2)', load: async () => (await import('./seed.ts')).run },
  reconcile: { summary: 'check positions against fills and cash against its flows; exits 1 on any difference', load: async () => (await import('./reconcile.ts')).run },
  users: { summary: 'manage users: users create --name N --role trader|admin [--opening-cash 100000]', load: async () => (await import('./users.ts')).run },
  capacity: { summary: 'instances, cores, memory for a load: capacity --users N --requests-per-user R [--target-p95 MS] [--write-docs]', load: async () => (await import('./capacity.ts')).run },
  loadtest: { summary: 'run a load-test scenario: loadtest --scenario spike --target URL [--report DIR]', load: async () => (await import('./loadtest.ts')).run },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: tachyon <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nConfiguration comes from environment variables; see docs/operations.md.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`tachyon: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (error) {
    // A user's mistake (an unknown option, a duplicate name, a bad amount) is one line, never a stack.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`tachyon ${name}: ${(error as Error).message} (see: tachyon --help)`);
      return 2;
    }
    if (error instanceof TachyonError) {
      console.error(`tachyon ${name}: ${error.message}`);
      return error.status < 500 ? 2 : 1;
    }
    throw error;
  }
}

try {
  // First, before anything can collect the heap fully (src/kernel/tick-shapes.ts).
  keepTickShapesUnlessOff();
  const code = await main(process.argv.slice(2));
  // `start` and `cluster` keep running on their own; other commands end here.
  if (code !== -1) process.exit(code);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
}
