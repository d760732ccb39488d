// Entry of the analysis worker threads. A worker starts with no TypeScript loader (the main
// thread's tsx registration or vitest's transform does not carry over), so it registers tsx the
// same way bin/tachyon.js does, then loads the typed worker module.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');

export default worker.default;
