// expect-error: TS2339 isWebInferError() narrows to WebInferError only; `expected` needs instanceof IntegrityError
import { isWebInferError, createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
try {
  await client.load('nope');
} catch (e) {
  if (isWebInferError(e)) console.log(e.expected);
}
