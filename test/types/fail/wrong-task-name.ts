// expect-error: TS2769 'object-detection' is not a TaskName of this version
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
await client.load('tiny-gpt', { task: 'object-detection' });
