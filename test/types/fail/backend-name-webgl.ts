// expect-error: TS2367 comparing client.backend.name with 'webgl' can never be true
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
if (client.backend?.name === 'webgl') console.log('WebGL');
