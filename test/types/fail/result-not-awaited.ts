// expect-error: TS2339 classify() returns a Promise; await it before map()
import { createClient, type Prediction } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const canvas: HTMLCanvasElement;
const top = model.classify(canvas);
const labels: string[] = top.map((p: Prediction) => p.label);
