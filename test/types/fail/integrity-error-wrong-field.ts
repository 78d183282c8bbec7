// expect-error: TS2339 IntegrityError has no `sha256` field (it is `expected` / `actual`)
import { IntegrityError } from '../../../src/index.js';
declare const err: IntegrityError;
console.log(err.sha256);
