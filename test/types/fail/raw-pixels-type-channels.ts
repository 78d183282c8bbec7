// expect-error: TS2322 RawPixels#channels is 1 | 3 | 4
import type { RawPixels } from '../../../src/index.js';
const pixels: RawPixels = { data: new Uint8Array(8), width: 2, height: 2, channels: 2 };
