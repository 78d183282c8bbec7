// expect-error: TS2322 wasmThreads and retries are numbers
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', wasmThreads: '4', retries: true });
