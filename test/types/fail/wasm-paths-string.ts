// expect-error: TS2559 wasmPaths is a per-file map, not a prefix string
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', wasmPaths: 'https://cdn.example.com/tfjs-wasm/' });
