// expect-error: TS2339 BackendInfo.rejected is a ReadonlyArray (no push)
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const info = await client.ready();
info.rejected.push({ name: 'cpu', reason: 'nope' });
