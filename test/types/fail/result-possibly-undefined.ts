// expect-error: TS2532 top[0] may be undefined (noUncheckedIndexedAccess): the result can be empty
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const canvas: HTMLCanvasElement;
const top = await model.classify(canvas);
const best: string = top[0].label;
