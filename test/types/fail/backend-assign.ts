// expect-error: TS2540 client.backend is read-only (it is reported by the worker)
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
client.backend = undefined;
