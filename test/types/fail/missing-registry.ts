// expect-error: TS2345 registry is the one required option
import { createClient } from '../../../src/index.js';
createClient({ backend: 'wasm' });
