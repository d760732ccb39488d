/**
 * keepTickShapes (src/kernel/tick-shapes.ts): after a full collection with the tick queue empty, node 20's
 * nextTick goes megamorphic without it and stays monomorphic with it. Read from V8 itself (%DebugPrint of
 * nextTick's feedback) in a node of its own, since the test runner's process has ticks of its own.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepTickShapesUnlessOff } from '../../src/kernel/tick-shapes.ts';

function probe(mode: 'keep' | 'none'): { states: string[]; kept: boolean; initHooks: boolean } {
  // %DebugPrint writes through C's stdio, whose buffer a pipe can lose at exit: a file keeps it all.
  const dir = mkdtempSync(join(tmpdir(), 'tick-shapes-'));
  const file = join(dir, 'stdout');
  const fd = openSync(file, 'w');
  const args = ['--allow-natives-syntax', '--expose-gc', '--expose-internals', 'bin/run-ts.js', 'test/support/tick-shapes-probe.ts', mode];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  const stdout = readFileSync(file, 'utf8');
  rmSync(dir, { recursive: true });
  expect(run.status, run.stderr).toBe(0);
  const states = [...stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]!);
  const result = JSON.parse(run.stderr) as { kept: boolean; initHooks: boolean };
  return { states, ...result };
}

describe('nextTick’s shapes', () => {
  it('go megamorphic in nextTick’s literal after a full collection between ticks (what keepTickShapes prevents)', () => {
    const { states } = probe('none');
    // async_id, trigger_async_id, callback, args: the first is defined on Object's initial map, which lives.
    expect(states).toEqual(['MONOMORPHIC', 'MEGAMORPHIC', 'MEGAMORPHIC', 'MEGAMORPHIC']);
  });

  it('stay monomorphic when one tick object is held, and no async hook is left enabled', () => {
    const { states, kept, initHooks } = probe('keep');
    expect(kept).toBe(true);
    expect(states).toEqual(['MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC']);
    expect(initHooks).toBe(false);
  });

  it('are kept unless TACHYON_KEEP_TICK_SHAPES is off, and a value other than on or off is refused', () => {
    expect(keepTickShapesUnlessOff({ TACHYON_KEEP_TICK_SHAPES: 'off' })).toBe(false);
    expect(keepTickShapesUnlessOff({})).toBe(true);
    expect(() => keepTickShapesUnlessOff({ TACHYON_KEEP_TICK_SHAPES: 'yes' })).toThrow('TACHYON_KEEP_TICK_SHAPES="yes" is invalid: expected on or off');
  });
});
