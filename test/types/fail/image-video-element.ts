// expect-error: TS2345 an HTMLVideoElement is not an ImageInput (draw the frame on a canvas)
import { createClient } from '../../../src/index.js';
const client = createClient({ registry: 'https://models.example.com' });
const model = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
declare const video: HTMLVideoElement;
await model.classify(video);
