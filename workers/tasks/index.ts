/**
 * The task table: one row per task this worker can run, each implemented in its
 * own module of this folder. A new task (detect, embed, generate) is one new
 * module and one new row.
 */
import type { Format, Task } from '../../src/shared/registry/schema.js';

export interface TaskRow {
  /** The model formats this task can run. */
  readonly formats: readonly Format[];
  /** The module that implements it. */
  readonly module: string;
}

export const TASK_TABLE: Readonly<Partial<Record<Task, TaskRow>>> = Object.freeze({
  'image-classification': { formats: ['tfjs-layers', 'tfjs-graph'], module: './image-classification.ts' },
  'text-generation': { formats: ['gpt2-safetensors'], module: './text-generation.ts' },
});

export const SUPPORTED_TASKS: readonly Task[] = Object.keys(TASK_TABLE) as Task[];
