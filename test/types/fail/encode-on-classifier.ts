// expect-error: TS2339 a Classifier has no encode()
import { createClient } from '../../../src/index.js';
const model = await createClient({ registry: '/r' }).load('fashion-mnist-cnn', { task: 'image-classification' });
void model.encode(new ImageData(28, 28));
