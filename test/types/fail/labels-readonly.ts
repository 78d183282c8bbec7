// expect-error: TS2339 Classifier#labels is a readonly string[]
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
model.labels.push('Cat');
