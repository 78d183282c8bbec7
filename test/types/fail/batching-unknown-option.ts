// expect-error: TS2353 batching takes { maxBatch } only (no windowMs: there is no timer to tune)
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', batching: { windowMs: 5 } });
