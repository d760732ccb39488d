// Entry of a worker thread started from the TypeScript sources (see workerEntry in project-files.ts):
// a worker starts with no TypeScript loader, so it registers tsx the way bin/tachyon.js does, then
// loads the typed module it was started for.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
