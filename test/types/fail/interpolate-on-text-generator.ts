// expect-error: TS2339 a TextGenerator has no interpolate()
import { createClient } from '../../../src/index.js';
const lm = await createClient({ registry: '/r' }).load('tiny-gpt', { task: 'text-generation' });
void lm.interpolate(new Float32Array(16), new Float32Array(16), 4);
