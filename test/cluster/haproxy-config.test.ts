/**
 * The checked-in deploy/haproxy/haproxy.cfg is what the generator renders for three instances, and
 * HAProxy itself accepts the generated configuration (`haproxy -c`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHaproxyConfig, REFERENCE_DEPLOYMENT } from '../../src/cluster/haproxy-config.ts';
import { clusterPrerequisites } from './support.ts';

const hasHaproxy = await clusterPrerequisites();

describe('HAProxy configuration', () => {
  it('is checked in as the generator renders it for three instances', () => {
    expect(readFileSync('deploy/haproxy/haproxy.cfg', 'utf8')).toBe(renderHaproxyConfig(REFERENCE_DEPLOYMENT));
  });

  it.skipIf(!hasHaproxy)('is valid for HAProxy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyon-haproxy-'));
    try {
      const path = join(dir, 'haproxy.cfg');
      writeFileSync(path, renderHaproxyConfig({ ...REFERENCE_DEPLOYMENT, socketPath: join(dir, 'haproxy.sock') }));
      const check = spawnSync('haproxy', ['-c', '-f', path], { encoding: 'utf8' });
      expect(check.status, check.stderr + check.stdout).toBe(0);
      expect(check.stderr).not.toMatch(/WARNING|ALERT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
