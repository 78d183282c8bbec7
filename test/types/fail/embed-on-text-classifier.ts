// expect-error: TS2339 a TextClassifier has no embed() method
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('langid-lstm', { task: 'text-classification' });
declare const canvas: HTMLCanvasElement;
await model.embed([canvas]);
