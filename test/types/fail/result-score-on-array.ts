// expect-error: TS2339 classify() resolves to Prediction[], not one Prediction
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const canvas: HTMLCanvasElement;
const top = await model.classify(canvas);
const score: number = top.score;
