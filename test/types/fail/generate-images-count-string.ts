// expect-error: TS2322 count is a number
import { createClient } from '../../../src/index.js';
const gen = await createClient({ registry: '/r' }).load('fashion-dcgan', { task: 'image-generation' });
await gen.generate({ count: '4', seed: 1 });
