/** JSON results: the RunResult itself, written atomically so a watcher never reads half a file. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RunResult } from '../results.ts';

export function toJson(result: RunResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export async function writeJsonResults(path: string, result: RunResult): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, toJson(result));
  await rename(tmp, path);
}
