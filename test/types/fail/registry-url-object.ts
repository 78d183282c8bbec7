// expect-error: TS2322 registry is a string, not a URL object
import { createClient } from '../../../src/index.js';
createClient({ registry: new URL('https://models.example.com') });
