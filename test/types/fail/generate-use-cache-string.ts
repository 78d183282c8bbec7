// expect-error: TS2322 useCache is a boolean, not a string
import type { TextGenerator } from '../../../src/index.js';
declare const lm: TextGenerator;
void lm.generateText('x', { useCache: 'no' });
