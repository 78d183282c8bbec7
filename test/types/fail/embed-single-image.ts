// expect-error: TS2345 embed() takes an array of images, not one image
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-embed', { task: 'feature-extraction' });
declare const canvas: HTMLCanvasElement;
await model.embed(canvas);
