// expect-error: TS2322 raw pixel data must be a typed array, not number[]
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify({ data: [0, 255, 0, 255], width: 2, height: 2, channels: 1 });
