/**
 * The node options the server runs with. V8 reads them only when a process starts, so they live in
 * the start command: package.json's start script passes exactly these (test/kernel/node-options.test.ts),
 * the local cluster starts each instance (a rollout's too) with them, and benchmarks start the platform with them.
 * docs/operations.md says what each one is for and what it was measured to do.
 */
export const SERVER_NODE_OPTIONS: readonly string[] = [
  // Stack traces name the TypeScript lines.
  '--enable-source-maps',
  // The main thread's young generation stays at 8 MiB instead of growing to 32 MiB under any load.
  '--max-semi-space-size=4',
  // An inline cache keeps up to 16 object shapes before it gives up on them (V8: 4). A whole platform in
  // one process shows node's own http, stream and event functions more shapes than a bare server does.
  '--max-valid-polymorphic-map-count=16',
];
