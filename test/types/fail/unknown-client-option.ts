// expect-error: TS2561 unknown createClient() option `registy` (typo of registry)
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', registy: 'https://typo.example.com' });
