/**
 * YAML scenarios: the same flat settings as a TypeScript trading scenario (executor, thresholds,
 * tags, weights, …), for users who would rather not write code. Example: scenarios/example.yaml.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { BadRequestError } from '../../kernel/errors.ts';
import type { Scenario } from '../scenario.ts';
import type { TradingData } from './accounts.ts';
import type { TradingConfig } from './config.ts';
import { tradingScenario } from './index.ts';

export async function loadYamlScenario(path: string): Promise<Scenario<TradingData>> {
  let config: unknown;
  try {
    config = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new BadRequestError(`${path}: ${(error as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new BadRequestError(`${path}: expected a mapping of scenario settings`);
  return tradingScenario(config as TradingConfig);
}
