import { readFileSync } from 'node:fs';
import { projectPath } from './kernel/project-files.ts';

/** The package version, read once at load. */
export const VERSION: string = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;
