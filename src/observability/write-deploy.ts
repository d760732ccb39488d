/**
 * Writes the generated deployment files: deploy/prometheus/tachyon-rules.yml (from the typed rule
 * list) and deploy/grafana/tachyon-dashboard.json. Run after changing either:
 *   node bin/run-ts.js src/observability/write-deploy.ts
 * A test fails when the committed files differ from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderRules } from './alerts/prometheus-yaml.ts';
import { dashboard } from './dashboard.ts';
import { projectPath } from '../kernel/project-files.ts';

export const RULES_FILE = projectPath('deploy/prometheus/tachyon-rules.yml');
export const DASHBOARD_FILE = projectPath('deploy/grafana/tachyon-dashboard.json');

export const renderDashboard = () => JSON.stringify(dashboard(), null, 2) + '\n';

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  writeFileSync(RULES_FILE, renderRules());
  writeFileSync(DASHBOARD_FILE, renderDashboard());
  console.log(`wrote ${RULES_FILE}\nwrote ${DASHBOARD_FILE}`);
}
