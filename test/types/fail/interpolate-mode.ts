// expect-error: TS2322 interpolate mode is 'slerp' or 'linear'
import { createClient } from '../../../src/index.js';
const gen = await createClient({ registry: '/r' }).load('fashion-vae', { task: 'image-generation' });
await gen.interpolate(new Float32Array(16), new Float32Array(16), 4, { mode: 'cubic' });
