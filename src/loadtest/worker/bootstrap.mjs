// Worker threads do not inherit the parent's tsx loader hooks: register tsx here, then load the
// TypeScript worker entry (works under vitest, node bin/run-ts.js and the CLI alike).
import { register } from 'tsx/esm/api';

register();
await import(new URL('./entry.ts', import.meta.url).href);
