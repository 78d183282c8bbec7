// expect-error: TS2322 backend 'webgl' is not a BackendPreference
import { createClient } from '../../../src/index.js';
createClient({ registry: 'https://models.example.com', backend: 'webgl' });
