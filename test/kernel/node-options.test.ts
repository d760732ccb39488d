/**
 * One list of the server's node options (src/kernel/node-options.ts): `npm start` passes exactly these,
 * and the local cluster starts its instances with them (test/cluster/cluster.test.ts reads an instance's
 * command line), so a scaled instance runs as `npm start` does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_OPTIONS } from '../../src/kernel/node-options.ts';

describe('the server node options', () => {
  it("are package.json's start script's", () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    expect(manifest.scripts.start).toBe(['node', ...SERVER_NODE_OPTIONS, 'bin/tachyon.js', 'start'].join(' '));
  });

  it("keep more of an object's shapes in V8's inline caches than its default 4 (the cached read's CPU, docs/operations.md)", () => {
    expect(SERVER_NODE_OPTIONS).toContain('--max-valid-polymorphic-map-count=16');
  });

});
