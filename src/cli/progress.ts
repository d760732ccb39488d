/**
 * A progress bar for long work (seeding): the terminal's status line, redrawn in place below the log
 * lines, on a terminal; a line every 10% otherwise (CI logs), with rate and ETA.
 */
import { Terminal } from './terminal.ts';

export class ProgressBar {
  private done = 0;
  private readonly started = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly terminal: Terminal = new Terminal(process.stderr),
  ) {}

  tick(n: number): void {
    this.done += n;
    const now = performance.now();
    if (this.terminal.isTTY) {
      if (now - this.lastDraw > 100 || this.done >= this.total) {
        this.lastDraw = now;
        this.terminal.setStatus(this.line());
      }
    } else {
      const decile = Math.floor((this.done / this.total) * 10);
      if (decile !== this.lastDecile) {
        this.lastDecile = decile;
        this.terminal.write(`${this.line()}\n`);
      }
    }
  }

  finish(): { elapsedSeconds: number; ratePerSecond: number } {
    const elapsedSeconds = (performance.now() - this.started) / 1000;
    if (this.terminal.isTTY) {
      this.terminal.setStatus(this.line());
      this.terminal.endStatus();
    }
    return { elapsedSeconds, ratePerSecond: this.done / Math.max(elapsedSeconds, 1e-9) };
  }

  private line(): string {
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const width = 30;
    const filled = Math.round(fraction * width);
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${compact(this.done)}/${compact(this.total)} ${this.unit} ${compact(rate)} ${this.unit}/s ETA ${eta.toFixed(0)}s`;
  }
}

export function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}
