// Entry of the embedded engine's thread when running from the sources: a worker starts with no
// TypeScript loader, so it registers tsx the way bin/tachyon.js does, then loads the typed module.
import { register } from 'tsx/esm/api';

register();
await import('./pglite-worker.ts');
