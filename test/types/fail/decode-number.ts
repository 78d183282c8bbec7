// expect-error: TS2345 decode() takes an array of latent vectors
import { createClient } from '../../../src/index.js';
const gen = await createClient({ registry: '/r' }).load('fashion-vae', { task: 'image-generation' });
await gen.decode(new Float32Array(16));
