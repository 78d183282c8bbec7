// expect-error: TS2367 finishReason is 'length' | 'stop' | 'eos' | 'abort'
import type { TextGenerator } from '../../../src/index.js';
declare const lm: TextGenerator;
const r = await lm.generateText('x');
if (r.finishReason === 'max_tokens') console.log('never');
