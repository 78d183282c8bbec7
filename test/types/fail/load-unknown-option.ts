// expect-error: TS2769 topK is a classify() option, not a load() option
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
await client.load('fashion-mnist-cnn', { task: 'image-classification', topK: 3 });
