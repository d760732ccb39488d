#!/usr/bin/env node
// The TypeScript sources run directly: tsx transpiles each module once at load (esbuild, cached),
// so there is no build step between `npm install` and `npm start`, and hot paths run as plain JIT'd JS.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
