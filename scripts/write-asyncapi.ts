/**
 * Writes docs/websocket.asyncapi.json from the protocol's schemas (src/realtime/asyncapi.ts):
 * `node bin/run-ts.js scripts/write-asyncapi.ts` after changing a frame; test/realtime/asyncapi.test.ts
 * fails while the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { asyncApiJson } from '../src/realtime/asyncapi.ts';
import { VERSION } from '../src/version.ts';

const path = fileURLToPath(new URL('../docs/websocket.asyncapi.json', import.meta.url));
writeFileSync(path, asyncApiJson(VERSION));
console.log(`wrote ${path}`);
