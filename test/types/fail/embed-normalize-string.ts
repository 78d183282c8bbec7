// expect-error: TS2322 normalize is a boolean, not 'yes'
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-embed', { task: 'feature-extraction' });
declare const canvas: HTMLCanvasElement;
await model.embed([canvas], { normalize: 'yes' });
