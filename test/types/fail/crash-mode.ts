// expect-error: TS2345 debug.crashWorker() takes 'throw' | 'close'
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
client.debug.crashWorker('explode');
