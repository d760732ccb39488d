/**
 * One writer for a terminal shared by log lines and a progress bar: the bar is a status line kept at
 * the bottom, cleared before each log line and redrawn after it, so the two never share a line.
 * Log lines on a terminal are human-readable (time, level, message, fields); elsewhere they stay
 * pino's JSON, one object per line, for log shippers.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line carries, or that the human format shows in its own place. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export class Terminal {
  private status = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {}

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /** Writes whole lines above the status line. */
  write(text: string): void {
    if (!this.isTTY || !this.status) {
      this.stream.write(text);
      return;
    }
    this.stream.write(`\r\x1b[K${text}${this.status}`);
  }

  /** Replaces the status line (a progress bar); '' removes it. */
  setStatus(line: string): void {
    if (!this.isTTY) return;
    this.status = line;
    this.stream.write(`\r\x1b[K${line}`);
  }

  /** Ends the status line: it stays on screen as an ordinary line. */
  endStatus(): void {
    if (!this.isTTY || !this.status) return;
    this.stream.write('\n');
    this.status = '';
  }

  /** A pino destination: human-readable lines on a terminal, JSON lines otherwise. */
  logDestination(): DestinationStream {
    return { write: (line: string) => this.write(this.isTTY ? formatLogLine(line) : line) };
  }
}

/** `12:03:04.567 INFO  stopped signal=SIGTERM` from one pino JSON line. */
export function formatLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[entry.level as number] ?? String(entry.level);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const stack = (entry.err as { stack?: string } | undefined)?.stack;
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length ? ' ' + fields.join(' ') : ''}\n${stack ? stack + '\n' : ''}`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value) return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value);
}
