/**
 * The worker's task table: one row per task, each implemented once in its own module of this
 * folder as a `TaskRuntime` (see `task.ts`). The runtime checks a model's format against its
 * row and dispatches every call through the row's operations. A new task is one new module
 * and one new row here (plus its name and operations in the protocol, `src/shared/`).
 */
import type { TaskName } from '../../src/shared/lists.js';
import { imageClassification } from './image-classification.js';
import { imageGeneration } from './image-generation.js';
import type { TaskRow } from './task.js';
import { textGeneration } from './text-generation.js';
import { textClassification } from './text-classification.js';
import { featureExtraction } from './feature-extraction.js';

export const TASK_TABLE: { readonly [T in TaskName]: TaskRow<T> } = Object.freeze({
  'image-classification': imageClassification,
  'text-generation': textGeneration,
  'image-generation': imageGeneration,
  'text-classification': textClassification,
  'feature-extraction': featureExtraction,
});
