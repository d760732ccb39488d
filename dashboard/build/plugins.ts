/** Build steps of the dashboard: the initial-JavaScript budget and pre-compressed variants of every hashed file. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin, Rollup } from 'vite';

const COMPRESSIBLE = /\.(js|css|svg|json|html)$/;

/**
 * Fails the build when the JavaScript a first load needs (entry chunks and their static imports,
 * not the lazy chunks) is larger than `maxBytes` gzip-compressed.
 */
export function initialJsBudget(maxBytes: number): Plugin {
  return {
    name: 'tachyon:initial-js-budget',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const bytes = initialJsBytes(bundle);
      const summary = `initial JS ${(bytes / 1024).toFixed(1)} KB gzip (budget ${(maxBytes / 1024).toFixed(0)} KB)`;
      if (bytes > maxBytes) this.error(`dashboard bundle over budget: ${summary}`);
      this.info(summary);
    },
  };
}

export function initialJsBytes(bundle: Rollup.OutputBundle): number {
  const chunks = new Map(Object.values(bundle).filter((o): o is Rollup.OutputChunk => o.type === 'chunk').map((c) => [c.fileName, c]));
  const initial = new Set<string>();
  const visit = (name: string) => {
    if (initial.has(name)) return;
    initial.add(name);
    for (const imported of chunks.get(name)?.imports ?? []) visit(imported);
  };
  for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName);
  let total = 0;
  for (const name of initial) total += gzipSync(chunks.get(name)!.code, { level: 9 }).length;
  return total;
}

/** Writes `.br` and `.gz` next to each hashed file where compression pays, so the server never compresses them per request. */
export function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'tachyon:precompress',
    apply: 'build',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    writeBundle() {
      const assets = join(outDir, 'assets');
      for (const name of readdirSync(assets)) {
        if (!COMPRESSIBLE.test(name)) continue;
        const source = readFileSync(join(assets, name));
        const br = brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: source.length } });
        const gz = gzipSync(source, { level: 9 });
        if (br.length < source.length) writeFileSync(join(assets, `${name}.br`), br);
        if (gz.length < source.length) writeFileSync(join(assets, `${name}.gz`), gz);
      }
    },
  };
}
