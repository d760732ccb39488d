/**
 * Renders the rule list as a Prometheus rules file. Strings are written as JSON strings, which are
 * valid YAML double-quoted scalars, so PromQL needs no YAML escaping rules of its own.
 */
import { ALERT_RULES, RECORDING_RULES, type AlertRule, type RecordingRule } from './rules.ts';

const q = (s: string) => JSON.stringify(s);

function duration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

function alert(rule: AlertRule): string {
  return [
    `      - alert: ${rule.name}`,
    `        expr: ${q(rule.expr)}`,
    `        for: ${duration(rule.forMs)}`,
    `        labels:`,
    `          severity: ${rule.severity}`,
    `        annotations:`,
    `          summary: ${q(rule.summary)}`,
    `          description: ${q(`{{ $labels.instance }}: {{ $value | humanize }}`)}`,
  ].join('\n');
}

const record = (rule: RecordingRule) => [`      - record: ${rule.record}`, `        expr: ${q(rule.expr)}`].join('\n');

export function renderRules(alerts: readonly AlertRule[] = ALERT_RULES, records: readonly RecordingRule[] = RECORDING_RULES): string {
  return [
    '# Generated from src/observability/alerts/rules.ts by src/observability/write-deploy.ts: do not edit.',
    'groups:',
    '  - name: tachyon-slo-recording',
    '    rules:',
    ...records.map(record),
    '  - name: tachyon-alerts',
    '    rules:',
    ...alerts.map(alert),
    '',
  ].join('\n');
}
