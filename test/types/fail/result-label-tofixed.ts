// expect-error: TS2551 Prediction#label is a string (toFixed belongs to score)
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const canvas: HTMLCanvasElement;
const top = await model.classify(canvas);
top[0]!.label.toFixed(2);
