// expect-error: TS2339 a Classifier has no generate() method
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
await model.generate('Once upon a time', { maxTokens: 20 });
