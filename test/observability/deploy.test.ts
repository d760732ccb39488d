import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderRules } from '../../src/observability/alerts/prometheus-yaml.ts';
import { ALERT_RULES } from '../../src/observability/alerts/rules.ts';
import { DASHBOARD_FILE, RULES_FILE, renderDashboard } from '../../src/observability/write-deploy.ts';
import { promtool } from './promtool.ts';

const REGENERATE = 'regenerate with: node bin/run-ts.js src/observability/write-deploy.ts';

describe('deployment files', () => {
  it('the committed Prometheus rules are the ones generated from the typed rule list', () => {
    expect(readFileSync(RULES_FILE, 'utf8'), REGENERATE).toBe(renderRules());
  });

  it('promtool accepts the rules', { timeout: 600_000 }, (context) => {
    const bin = promtool();
    if (!bin) return context.skip();
    const out = execFileSync(bin, ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });

  it('covers the seeds’ alerts and SLO burn rates on both SLOs', () => {
    const names = ALERT_RULES.map((r) => r.name);
    for (const name of ['TachyonHighLatencyP95', 'TachyonHighErrorRate', 'TachyonHighCpu', 'TachyonHighMemory', 'TachyonQueueDepthHigh']) expect(names).toContain(name);
    expect(names.filter((n) => n.includes('BudgetBurn'))).toHaveLength(4);
  });

  it('the committed Grafana dashboard is the generated one, with the seeds’ panels', () => {
    const text = readFileSync(DASHBOARD_FILE, 'utf8');
    expect(text, REGENERATE).toBe(renderDashboard());
    const titles = (JSON.parse(text).panels as Array<{ title: string }>).map((p) => p.title).join('\n');
    for (const panel of ['Latency p50 / p95 / p99', 'Error rate', 'CPU utilization', 'Memory', 'Task queue depth', 'WebSocket connections', 'Cache hit ratio']) expect(titles).toContain(panel);
  });
});
