/**
 * Where the registry tree of `@webinfer/models` is on disk (a registry root: serve it with
 * `webinfer-registry serve --root <registryRoot>`, or `webinfer-registry serve --demo`).
 *
 * @example
 * import { registryRoot } from '@webinfer/models';
 * // npx webinfer-registry serve --root "$(node -p "require('@webinfer/models').registryRoot")"
 * console.log(registryRoot);
 */
import { fileURLToPath } from 'node:url';

export const registryRoot = fileURLToPath(new URL('./registry/', import.meta.url));
/** The models in the tree, with the aliases they carry. */
export const models = Object.freeze([
  { id: 'fashion-mnist-cnn', task: 'image-classification', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32', 'float16', 'uint8'] },
  { id: 'emotion', task: 'image-classification', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32'] },
  { id: 'tiny-gpt', task: 'text-generation', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32', 'int8'] },
  { id: 'fashion-vae', task: 'image-generation', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32'] },
  { id: 'fashion-dcgan', task: 'image-generation', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32'] },
  { id: 'langid-lstm', task: 'text-classification', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32'] },
  { id: 'fashion-embed', task: 'feature-extraction', version: '1.0.0', aliases: ['stable', 'latest'], variants: ['float32'] },
]);
