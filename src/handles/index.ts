/**
 * The main thread's task table: one handle class per task, each in its own module of this
 * folder. `client.load()` builds the handle of the loaded model's task from this table, and the
 * public `ModelsByTask` type is derived from it. A new task is one new handle module and one
 * new row here (plus its worker module and row, and its name and operations in the protocol).
 */
import type { TaskName } from '../shared/lists.js';
import type { ModelInfo } from '../shared/types.js';
import { Classifier } from './classifier.js';
import type { ModelContext } from './context.js';
import type { ModelHandle } from './handle.js';
import { TextGenerator } from './text-generator.js';
import { ImageGenerator } from './image-generator.js';
import { TextClassifier } from './text-classifier.js';
import { Embedder } from './embedder.js';

/** A handle class of task T. */
export type HandleClass<T extends TaskName> = new (ctx: ModelContext, handle: number, info: ModelInfo, generation: number) => ModelHandle<T>;

export const HANDLES = Object.freeze({
  'image-classification': Classifier,
  'text-generation': TextGenerator,
  'image-generation': ImageGenerator,
  'text-classification': TextClassifier,
  'feature-extraction': Embedder,
}) satisfies { readonly [T in TaskName]: HandleClass<T> };

/** Tasks and the model handle each one gives (`client.load(ref, { task })`). */
export type ModelsByTask = { [T in TaskName]: InstanceType<(typeof HANDLES)[T]> };
