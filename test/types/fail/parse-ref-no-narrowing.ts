// expect-error: TS2339 ModelRef#version exists only once kind === 'version'
import { parseRef } from '../../../src/index.js';
const ref = parseRef('fashion-mnist-cnn@1.2.0');
console.log(ref.version);
