// expect-error: TS18046 a caught value is unknown under strict: narrow with isWebInferError()/instanceof first
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
try {
  await client.load('nope');
} catch (e) {
  console.log(e.code);
}
