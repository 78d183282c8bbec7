// expect-error: TS2322 topK is a number, not '3'
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const canvas: HTMLCanvasElement;
await model.classify(canvas, { topK: '3' });
