// expect-error: TS2322 embed() gives Float32Array rows, not number[][]
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-embed', { task: 'feature-extraction' });
declare const canvas: HTMLCanvasElement;
const rows: number[][] = await model.embed([canvas]);
console.log(rows);
