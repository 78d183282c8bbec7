// expect-error: TS2322 raw pixel data is Uint8Array | Uint8ClampedArray | Float32Array, not Int16Array
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify({ data: new Int16Array(4), width: 2, height: 2, channels: 1 });
