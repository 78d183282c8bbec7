// expect-error: TS2559 an ImageGenerator's generate() takes options, not a prompt
import { createClient } from '../../../src/index.js';
const gen = await createClient({ registry: '/r' }).load('fashion-dcgan', { task: 'image-generation' });
await gen.generate('a shoe');
