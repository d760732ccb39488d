/**
 * Finds promtool (Debian's prometheus package), installing it when the run may: as root under CI,
 * or as root when it is absent. Without it the rule validation is skipped loudly; under CI=true a
 * promtool that cannot be had is a failure.
 */
import { execFileSync } from 'node:child_process';

function which(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function promtool(): string | undefined {
  const found = which();
  if (found) return found;
  if (process.getuid?.() === 0) {
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus'], { stdio: 'ignore', timeout: 600_000 });
    } catch (error) {
      console.warn(`apt-get install prometheus failed: ${(error as Error).message}`);
    }
  }
  const installed = which();
  if (installed) return installed;
  const message = 'promtool (Debian package prometheus) is not installed and could not be installed';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: rule validation must run)`);
  console.warn(`\n!!! SKIPPED: ${message}; Prometheus rules were not validated.\n`);
  return undefined;
}
