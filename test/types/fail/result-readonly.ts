// expect-error: TS2540 Prediction fields are read-only
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const canvas: HTMLCanvasElement;
const top = await model.classify(canvas);
for (const p of top) p.score = Math.round(p.score * 100);
