/** Turns a module specifier or an object into a validated Scenario. */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { BadRequestError } from '../kernel/errors.ts';
import type { Scenario } from './scenario.ts';

/** File paths resolve against the working directory; `file:` URLs pass through. */
export function scenarioUrl(specifier: string | URL): string {
  if (specifier instanceof URL) return specifier.href;
  if (/^[a-z]+:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) return specifier;
  return pathToFileURL(isAbsolute(specifier) ? specifier : resolve(specifier)).href;
}

export async function importScenario(url: string): Promise<Scenario> {
  // YAML describes a trading mix; loaded on demand so plain TS scenarios never pay for the parser.
  if (/\.ya?ml$/i.test(url)) return (await import('./trading/yaml.ts')).loadYamlScenario(fileURLToPath(url)) as Promise<Scenario>;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    // A scenario that does not compile or load is the user's to fix: one line naming the file and why.
    const message = error instanceof Error ? error.message.split('\n').filter(Boolean).slice(0, 2).join(': ') : String(error);
    throw new BadRequestError(`${url}: cannot load the scenario (${message}); a scenario is a .ts/.js module or a .yaml trading mix`);
  }
  // Either a module with `options` + default function, or a default-exported scenario object.
  const candidate = typeof mod.default === 'function' ? mod : mod.default;
  return validateScenario(candidate, url);
}

export function validateScenario(candidate: unknown, name = 'scenario'): Scenario {
  const s = candidate as Partial<Scenario> | undefined;
  if (!s || typeof s.default !== 'function') throw new BadRequestError(`${name}: a scenario exports a default async function (the iteration)`);
  if (!s.options || typeof s.options !== 'object' || !s.options.executor) throw new BadRequestError(`${name}: a scenario exports options with an executor`);
  return s as Scenario;
}
