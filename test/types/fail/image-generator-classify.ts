// expect-error: TS2339 an ImageGenerator has no classify()
import { createClient } from '../../../src/index.js';
const gen = await createClient({ registry: '/r' }).load('fashion-vae', { task: 'image-generation' });
void gen.classify(new Uint8Array(1) as never);
