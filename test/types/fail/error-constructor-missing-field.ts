// expect-error: TS2345 IntegrityError needs file, expected and actual
import { IntegrityError } from '../../../src/index.js';
throw new IntegrityError('bad bytes', { file: 'weights.bin', expected: 'sha256:aa' });
