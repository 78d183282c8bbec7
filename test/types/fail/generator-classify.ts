// expect-error: TS2339 a TextGenerator has no classify()
import { createClient } from '../../../src/index.js';
const lm = await createClient({ registry: '/r' }).load('tiny-gpt', { task: 'text-generation' });
void lm.classify(new Uint8Array(1) as never);
