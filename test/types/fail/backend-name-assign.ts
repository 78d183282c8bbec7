// expect-error: TS2322 BackendName ('webgpu' | 'wasm' | 'cpu') is not assignable to 'webgpu' | 'webgl'
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const info = await client.ready();
const gpuOnly: 'webgpu' | 'webgl' = info.name;
