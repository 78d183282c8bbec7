// expect-error: TS2322 temperature is a number, not a string
import type { TextGenerator } from '../../../src/index.js';
declare const lm: TextGenerator;
void lm.generateText('x', { temperature: '0.8' });
