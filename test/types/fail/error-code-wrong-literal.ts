// expect-error: TS2367 IntegrityError#code is the literal 'INTEGRITY'
import { IntegrityError } from '../../../src/index.js';
declare const err: IntegrityError;
if (err.code === 'INTEGRITY_ERROR') console.log(err.file);
