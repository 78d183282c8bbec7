// expect-error: TS2345 a number is not an ImageInput
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify(42);
