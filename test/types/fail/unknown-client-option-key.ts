// expect-error: TS2353 unknown createClient() option `workerUrl` (use createWorker)
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', workerUrl: '/webinfer.worker.js' });
