// expect-error: TS2339 ModelNotFoundError has no `expected` field
import { ModelNotFoundError } from '../../../src/index.js';
declare const err: ModelNotFoundError;
const expected: string = err.expected;
