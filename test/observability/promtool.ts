/**
 * Finds promtool (Debian's prometheus package, installed by scripts/setup-system.sh, which .ci/run
 * calls). Without it the rule validation is skipped loudly; under CI=true a missing promtool is a failure.
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
  const message = 'promtool (Debian package prometheus) is not installed: run scripts/setup-system.sh';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: rule validation must run)`);
  console.warn(`\n!!! SKIPPED: ${message}; Prometheus rules were not validated.\n`);
  return undefined;
}
