// expect-error: TS2345 a URL string is not an ImageInput (fetch it into a Blob or an <img>)
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.classify('https://example.com/cat.png');
