// expect-error: TS2322 dispose() resolves to void, not boolean
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const disposed: boolean = await client.dispose();
