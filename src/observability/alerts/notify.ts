/**
 * Alert notifications: every transition is logged; when a webhook is configured it also receives a
 * Slack-compatible body (`text` plus a colored attachment), which generic webhook receivers accept
 * too. Delivery failures are logged, never thrown: alerting must not break the evaluation loop.
 */
import type { Logger } from 'pino';
import type { AlertEvent } from './engine.ts';

const COLORS = { firing: '#d93f0b', resolved: '#2eb67d' } as const;

export function slackBody(event: AlertEvent) {
  const status = event.state.toUpperCase();
  return {
    text: `[${status}] ${event.rule} (${event.severity}) on ${event.instance}: ${event.summary}`,
    attachments: [
      {
        color: COLORS[event.state],
        title: `${event.rule} ${status}`,
        text: event.summary,
        fields: [
          { title: 'value', value: String(event.value), short: true },
          { title: 'threshold', value: String(event.threshold), short: true },
          { title: 'since', value: new Date(event.activeSince).toISOString(), short: true },
        ],
        ts: Math.floor(event.at / 1000),
      },
    ],
  };
}

export type Notifier = (event: AlertEvent) => Promise<void>;

export function notifier(logger: Logger, webhookUrl: string | undefined): Notifier {
  return async (event) => {
    const line = { alert: event.rule, severity: event.severity, value: event.value, threshold: event.threshold };
    if (event.state === 'firing') logger.warn(line, `alert firing: ${event.summary}`);
    else logger.info(line, `alert resolved: ${event.rule}`);
    if (!webhookUrl) return;
    try {
      const response = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackBody(event)),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) logger.error({ alert: event.rule, status: response.status }, 'alert webhook refused the notification');
    } catch (error) {
      logger.error({ alert: event.rule, err: error }, 'alert webhook unreachable');
    }
  };
}
