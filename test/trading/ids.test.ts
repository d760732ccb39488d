import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { BLOCK_SIZE, IdAllocator } from '../../src/trading/ids.ts';
import { pglite } from '../support/engines.ts';

describe('id allocation', () => {
  it('hands out increasing ids, unique across allocators sharing a database, across block boundaries', async () => {
    const { db, cleanup } = await pglite.open();
    try {
      await migrate(db);
      const a = new IdAllocator(db);
      const b = new IdAllocator(db);
      await Promise.all([a.ready(), b.ready()]);
      const seen = new Set<number>();
      let outOfOrder = 0;
      for (const allocator of [a, b]) {
        let previous = 0;
        for (let i = 0; i < BLOCK_SIZE + 10; i++) {
          if (allocator.available() === 0) await allocator.ready();
          const id = allocator.next();
          if (!(id > previous && Number.isSafeInteger(id))) outOfOrder++;
          seen.add(id);
          previous = id;
        }
      }
      expect(outOfOrder).toBe(0);
      expect(seen.size).toBe(2 * (BLOCK_SIZE + 10));
    } finally {
      await cleanup();
    }
  });
});
