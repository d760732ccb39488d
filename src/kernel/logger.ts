/**
 * Structured JSON logs (pino). Secrets are redacted at the source: authorization headers,
 * tokens, passwords and connection strings never reach a log line.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/config.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'databaseUrl',
  'redisUrl',
  'req.headers["x-api-key"]',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.authorization',
  'accessToken',
  '*.accessToken',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'adminToken',
  'demoToken',
  'metricsToken',
  '*.adminToken',
  '*.demoToken',
  '*.metricsToken',
];

/** @param mixin adds fields to every line (observability's request and trace ids). */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream, mixin?: pino.LoggerOptions['mixin']): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid }, ...(mixin ? { mixin } : {}) }, destination);
}
