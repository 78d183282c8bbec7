// expect-error: TS2353 wasmPaths keys are the three tfjs-backend-wasm binaries
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', wasmPaths: { 'tfjs-backend-wasm-threaded.wasm': '/t.wasm' } });
