// expect-error: TS2339 load() without task gives AnyModel (= Classifier), which has no generate()
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('tiny-gpt');
await model.generate('Once upon a time');
