// expect-error: TS2339 a model loaded without a task must be narrowed before generate()
import { createClient } from '../../../src/index.js';
const m = await createClient({ registry: '/r' }).load('tiny-gpt');
void m.generate('x');
