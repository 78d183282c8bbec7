// expect-error: TS2345 raw pixels need channels (an ImageData-like object without colorSpace is neither)
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify({ data: new Uint8ClampedArray(16), width: 2, height: 2 });
