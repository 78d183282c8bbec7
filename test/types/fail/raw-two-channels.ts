// expect-error: TS2322 channels: 2 (grey + alpha) is not supported
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify({ data: new Uint8Array(8), width: 2, height: 2, channels: 2 });
