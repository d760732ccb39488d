/**
 * Log lines and the seeding progress bar share a terminal without sharing a line; log lines are
 * human-readable on a terminal and pino's JSON elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progress.ts';
import { Terminal } from '../../src/cli/terminal.ts';
import { createLogger } from '../../src/kernel/logger.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream, writes };
}

/** What a terminal shows after these writes: `\r` returns to the line start, `\x1b[K` clears to its end. */
function screen(writes: string[]): string[] {
  const lines: string[] = [''];
  let column = 0;
  const text = writes.join('');
  for (let i = 0; i < text.length; i++) {
    const current = lines.length - 1;
    if (text.startsWith('\x1b[K', i)) {
      lines[current] = lines[current]!.slice(0, column);
      i += 2;
    } else if (text[i] === '\n') {
      lines.push('');
      column = 0;
    } else if (text[i] === '\r') column = 0;
    else {
      const line = lines[current]!;
      lines[current] = line.slice(0, column) + text[i] + line.slice(column + 1);
      column++;
    }
  }
  return lines.filter((l) => l !== '');
}

describe('terminal output', () => {
  it('on a terminal, log lines print above the progress bar and never on its line', () => {
    const { stream, writes } = fakeStream(true);
    const terminal = new Terminal(stream);
    const logger = createLogger('info', terminal.logDestination());
    const bar = new ProgressBar(1000, 'rows', terminal);
    bar.tick(300);
    logger.info({ route: '/api/x', durationMs: 312 }, 'slow request');
    bar.tick(700);
    logger.warn('second line');
    bar.finish();
    const shown = screen(writes);
    expect(shown).toHaveLength(3);
    expect(shown[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}slow request route=\/api\/x durationMs=312$/);
    expect(shown[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}second line$/);
    expect(shown[2]).toMatch(/^\[#{30}\] 100% 1\.0k\/1\.0k rows/);
  });

  it('elsewhere, log lines stay JSON and the progress is a line every 10%', () => {
    const { stream, writes } = fakeStream(false);
    const terminal = new Terminal(stream);
    createLogger('info', terminal.logDestination()).info({ n: 1 }, 'hello');
    const bar = new ProgressBar(100, 'rows', terminal);
    for (let i = 0; i < 10; i++) bar.tick(10);
    bar.finish();
    expect(JSON.parse(writes[0]!)).toMatchObject({ level: 30, msg: 'hello', n: 1 });
    expect(writes.slice(1).every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    expect(writes.slice(1)).toHaveLength(10);
  });
});
