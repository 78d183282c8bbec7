// expect-error: TS2769 dtype is one of the variants (float32, float16, uint8, int8, int4) or auto
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
await client.load('gpt2-124m', { task: 'text-generation', dtype: 'int2' });
