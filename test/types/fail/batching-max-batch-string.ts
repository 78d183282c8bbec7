// expect-error: TS2322 batching.maxBatch is a number, not a string
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', batching: { maxBatch: '64' } });
