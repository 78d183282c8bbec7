// expect-error: TS2339 an Embedder has no classify() method
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-embed', { task: 'feature-extraction' });
declare const canvas: HTMLCanvasElement;
await model.classify(canvas, { topK: 3 });
