// expect-error: TS2540 a generated picture's fields are read-only
import { createClient } from '../../../src/index.js';
const gen = await createClient({ registry: '/r' }).load('fashion-vae', { task: 'image-generation' });
const { images } = await gen.generate({ count: 1 });
images[0]!.width = 3;
