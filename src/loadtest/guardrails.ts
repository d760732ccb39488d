/**
 * Safety limits a load test must respect wherever it is started from (CLI, admin API):
 * only allowed hosts (loopback by default, so a typo cannot load-test someone else's server),
 * bounded duration, arrival rate and VUs. Violations are 422s with a stable code.
 */
import { UnprocessableError } from '../kernel/errors.ts';
import { errorMessage } from '../kernel/error-codes.ts';

export interface Guardrails {
  /** Host names (no port) requests may go to; `*` allows any. */
  allowedHosts: readonly string[];
  maxDurationMs: number;
  /** Iterations per second (open model). */
  maxRate: number;
  maxVUs: number;
  maxWorkers: number;
}

export const DEFAULT_GUARDRAILS: Guardrails = {
  allowedHosts: ['localhost', '127.0.0.1', '::1', '[::1]'],
  maxDurationMs: 30 * 60_000,
  maxRate: 100_000,
  maxVUs: 5_000,
  maxWorkers: 16,
};

export class GuardrailError extends UnprocessableError {
  constructor(reason: string, details?: Record<string, unknown>) {
    super('loadtest_guardrail', errorMessage('loadtest_guardrail', { reason }), details);
  }
}

export function assertHostAllowed(guardrails: Guardrails, url: URL): void {
  if (guardrails.allowedHosts.includes('*')) return;
  if (!guardrails.allowedHosts.includes(url.hostname)) {
    throw new GuardrailError(`target host "${url.hostname}" is not in the allowed hosts (${guardrails.allowedHosts.join(', ')})`, { host: url.hostname });
  }
}

export function assertWithin(name: string, value: number, max: number): void {
  if (value > max) throw new GuardrailError(`${name} ${value} exceeds the allowed maximum ${max}`, { [name]: value, max });
}
