// expect-error: TS2322 topK of a text classifier is a number, not '2'
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('langid-lstm', { task: 'text-classification' });
await model.classify('Guten Tag', { topK: '2' });
