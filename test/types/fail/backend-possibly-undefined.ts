// expect-error: TS18048 client.backend is undefined until the worker has started
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
console.log(client.backend.name);
