// expect-error: TS2345 a TextClassifier classifies text, not images
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('langid-lstm', { task: 'text-classification' });
declare const canvas: HTMLCanvasElement;
await model.classify(canvas);
