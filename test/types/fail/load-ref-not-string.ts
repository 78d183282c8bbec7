// expect-error: TS2345 a model reference is a string, not an object
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
await client.load({ id: 'fashion-mnist-cnn' });
