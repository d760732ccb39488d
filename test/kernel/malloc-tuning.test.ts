/**
 * The glibc malloc setting: who sets it (npm start's script, kept when an operator set their own), and
 * that this machine's glibc honours it — allocations from 32 KiB up leave the main heap for mappings
 * of their own, which is what returns V8's compile zones to the system (docs/benchmarks.md, "Memory").
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MALLOC_TUNABLES, mallocTuning, withMallocTuning } from '../../src/kernel/malloc-tuning.ts';
import { projectPath } from '../../src/kernel/project-files.ts';

const MiB = 2 ** 20;

/** Runs `script` in a fresh node with `env` (GLIBC_TUNABLES unset unless given) and parses what it prints. */
function nodeWith(env: Record<string, string>, script: string): unknown {
  const base = { ...process.env };
  delete base.GLIBC_TUNABLES;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...base, ...env }, encoding: 'utf8' }));
}

describe('glibc malloc tuning', () => {
  it('is added to an environment that does not say, and an operator’s own setting (even empty) is kept', () => {
    expect(withMallocTuning({ PORT: '1' })).toEqual({ PORT: '1', GLIBC_TUNABLES: MALLOC_TUNABLES });
    expect(withMallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2');
    expect(withMallocTuning({ GLIBC_TUNABLES: '' }).GLIBC_TUNABLES).toBe('');
    if (mallocTuning()) expect(mallocTuning({ GLIBC_TUNABLES: 'x' })).toEqual({ glibcTunables: 'x' });
  });

  it('is what `npm start` starts the server with, unless GLIBC_TUNABLES is already set', () => {
    const start = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    const [assignment, command] = start.split(' node ');
    expect(command).toBe('--enable-source-maps bin/tachyon.js start');
    // The script's own assignment, run by a POSIX shell as npm runs it, in front of a node that prints what it got.
    const seen = (env: Record<string, string>) => nodeWith(env, `const out = require('node:child_process').execSync(${JSON.stringify(`${assignment} node -p "JSON.stringify(process.env.GLIBC_TUNABLES)"`)}, { encoding: 'utf8' }); console.log(out)`);
    expect(seen({})).toBe(MALLOC_TUNABLES);
    expect(seen({ GLIBC_TUNABLES: '' })).toBe('');
    expect(seen({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe('glibc.malloc.arena_max=2');
  });

  it.skipIf(!mallocTuning())('moves 32 KiB allocations out of the main heap on this glibc (and glibc’s default keeps them in it)', () => {
    // 1,000 live 40 KB buffers (40 MB) from the main thread: malloc'd, so they land in the brk heap unless mmapped.
    const script = `
      const heap = () => { const m = /^([0-9a-f]+)-([0-9a-f]+) .*\\[heap\\]$/m.exec(require('node:fs').readFileSync('/proc/self/maps', 'utf8')); return m ? parseInt(m[2], 16) - parseInt(m[1], 16) : 0; };
      const before = heap(); const held = []; for (let i = 0; i < 1000; i++) held.push(Buffer.allocUnsafeSlow(40000));
      console.log(JSON.stringify({ grewBytes: heap() - before, held: held.length }));`;
    const tuned = nodeWith({ GLIBC_TUNABLES: MALLOC_TUNABLES }, script) as { grewBytes: number };
    const defaults = nodeWith({ GLIBC_TUNABLES: '' }, script) as { grewBytes: number };
    expect(defaults.grewBytes).toBeGreaterThan(32 * MiB);
    expect(tuned.grewBytes).toBeLessThan(8 * MiB);
  });
});
