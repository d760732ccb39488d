/**
 * In-process alert evaluation with Prometheus semantics: a rule whose condition holds becomes
 * `pending`, then `firing` once it has held for the rule's `for` duration; when the condition stops
 * holding a firing alert is `resolved` (a pending one just goes back to inactive). Firing and
 * resolution are notified; the last transitions are kept as history. Time comes from the Clock.
 */
import type { Clock } from '../../kernel/clock.ts';
import type { Notifier } from './notify.ts';
import type { AlertRule, Signals } from './rules.ts';

const HISTORY = 200;

export interface ActiveAlert {
  rule: string;
  severity: AlertRule['severity'];
  state: 'pending' | 'firing';
  summary: string;
  value: number;
  threshold: number;
  activeSince: number;
  firedAt?: number;
}

export interface AlertEvent {
  rule: string;
  severity: AlertRule['severity'];
  state: 'firing' | 'resolved';
  instance: string;
  summary: string;
  value: number;
  threshold: number;
  activeSince: number;
  at: number;
}

export class AlertEngine {
  private readonly active = new Map<string, ActiveAlert>();
  private readonly events: AlertEvent[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly rules: readonly AlertRule[],
    private readonly signals: Signals,
    private readonly clock: Clock,
    private readonly notify: Notifier,
    private readonly instance: string,
    /** Whether this instance evaluates shared rules (the feed leader in the scaled deployment; always when alone). */
    private readonly leads: () => boolean = () => true,
  ) {}

  /** One evaluation round; concurrent calls share the round in progress. */
  evaluate(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    const notifications: Promise<void>[] = [];
    for (const rule of this.rules) {
      if (rule.shared && !this.leads()) {
        // Another instance evaluates it; a state held from an earlier lead is dropped without a notification.
        this.active.delete(rule.name);
        continue;
      }
      // A failing signal (a component's stats throwing) counts as no data, never as a broken loop.
      const value = await Promise.resolve()
        .then(() => rule.value(this.signals))
        .catch(() => undefined);
      const now = this.clock.now();
      const current = this.active.get(rule.name);
      if (value !== undefined && value > rule.threshold) {
        const alert = current ?? { rule: rule.name, severity: rule.severity, state: 'pending', summary: rule.summary, value, threshold: rule.threshold, activeSince: now };
        alert.value = value;
        this.active.set(rule.name, alert);
        if (alert.state === 'pending' && now - alert.activeSince >= rule.forMs) {
          alert.state = 'firing';
          alert.firedAt = now;
          notifications.push(this.transition(alert, 'firing', now));
        }
      } else if (current) {
        this.active.delete(rule.name);
        if (current.state === 'firing') notifications.push(this.transition({ ...current, value: value ?? 0 }, 'resolved', now));
      }
    }
    await Promise.all(notifications);
  }

  private transition(alert: ActiveAlert, state: AlertEvent['state'], at: number): Promise<void> {
    const event: AlertEvent = { rule: alert.rule, severity: alert.severity, state, instance: this.instance, summary: alert.summary, value: alert.value, threshold: alert.threshold, activeSince: alert.activeSince, at };
    this.events.push(event);
    if (this.events.length > HISTORY) this.events.shift();
    return this.notify(event);
  }

  activeAlerts(): ActiveAlert[] {
    return [...this.active.values()].map((a) => ({ ...a }));
  }

  /** Newest first. */
  history(): AlertEvent[] {
    return [...this.events].reverse();
  }

  rulesView() {
    return this.rules.map((r) => ({ name: r.name, severity: r.severity, forSeconds: r.forMs / 1000, threshold: r.threshold, expr: r.expr, summary: r.summary }));
  }
}
