// expect-error: TS2345 a URL object is not an ImageInput
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify(new URL('https://example.com/cat.png'));
