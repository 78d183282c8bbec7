// expect-error: TS2554 a Classifier comes from client.load(), not from a bare constructor call
import { Classifier } from '../../../src/index.js';
new Classifier();
