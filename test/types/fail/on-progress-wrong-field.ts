// expect-error: TS2339 LoadProgress has loaded/total/file/source, no percent
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
await client.load('fashion-mnist-cnn', { onProgress: (p) => console.log(p.percent) });
