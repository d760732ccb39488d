/** Built-in scenarios by name (files in scenarios/ at the repository root, which users copy and edit; compiled into dist/scenarios/). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BadRequestError } from '../kernel/errors.ts';
import { runnableModule } from '../kernel/project-files.ts';

export const BUILTIN_SCENARIOS = ['smoke', 'baseline', 'load', 'stress', 'spike', 'endurance', 'volume', 'websocket'] as const;
export type BuiltinScenario = (typeof BUILTIN_SCENARIOS)[number];

const SCENARIO_DIR = new URL('../../scenarios/', import.meta.url);

export function isBuiltin(name: string): name is BuiltinScenario {
  return (BUILTIN_SCENARIOS as readonly string[]).includes(name);
}

/** The file of a scenario shipped in scenarios/ (the built-ins, and chaos's load). */
export function shippedScenarioFile(name: string): string {
  return fileURLToPath(runnableModule(`./${name}.ts`, SCENARIO_DIR));
}

/** A built-in name becomes its file; anything else is a path to a .ts, .js or .yaml scenario, which must exist. */
export function scenarioPath(nameOrPath: string): string {
  const path = isBuiltin(nameOrPath) ? shippedScenarioFile(nameOrPath) : nameOrPath;
  if (!existsSync(path)) throw new BadRequestError(`scenario "${nameOrPath}" is neither a built-in (${BUILTIN_SCENARIOS.join(', ')}) nor an existing file`);
  return path;
}
