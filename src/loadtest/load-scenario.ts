/** Turns a module specifier or an object into a validated Scenario. */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { BadRequestError } from '../kernel/errors.ts';
import { COMPILED } from '../kernel/project-files.ts';
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
  const load = COMPILED && /\.[cm]?ts$/i.test(url) ? await typeScriptImporter(url) : (u: string) => import(u);
  let mod: Record<string, unknown>;
  try {
    mod = (await load(url)) as Record<string, unknown>;
  } catch (error) {
    // A scenario that does not compile or load is the user's to fix: one line naming the file and why.
    const message = error instanceof Error ? error.message.split('\n').filter(Boolean).slice(0, 2).join(': ') : String(error);
    throw new BadRequestError(`${url}: cannot load the scenario (${message}); a scenario is a .ts/.js module or a .yaml trading mix`);
  }
  // Either a module with `options` + default function, or a default-exported scenario object.
  const candidate = typeof mod.default === 'function' ? mod : mod.default;
  return validateScenario(candidate, url);
}

/**
 * The compiled platform runs without a TypeScript loader, so a user's .ts scenario goes through tsx,
 * scoped to that one import. tsx is a development dependency: `npm install` installs it, a production
 * install without dev dependencies (npm ci --omit=dev) runs .js and .yaml scenarios and the built-ins.
 */
async function typeScriptImporter(url: string): Promise<(url: string) => Promise<unknown>> {
  const tsx = await import('tsx/esm/api').catch(() => {
    throw new BadRequestError(`${url}: a .ts scenario needs tsx, which this install left out (dev dependencies omitted): install tsx, or write the scenario as .js or .yaml`);
  });
  return (u) => tsx.tsImport(u, import.meta.url);
}

export function validateScenario(candidate: unknown, name = 'scenario'): Scenario {
  const s = candidate as Partial<Scenario> | undefined;
  if (!s || typeof s.default !== 'function') throw new BadRequestError(`${name}: a scenario exports a default async function (the iteration)`);
  if (!s.options || typeof s.options !== 'object' || !s.options.executor) throw new BadRequestError(`${name}: a scenario exports options with an executor`);
  return s as Scenario;
}
