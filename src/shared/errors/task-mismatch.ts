import { WebInferError } from './base.js';

/**
 * A model was used for a task it was not published for (e.g. a text generator loaded as a classifier).
 *
 * @example
 * await client.load('tiny-gpt', { task: 'image-classification' }); // TaskMismatchError
 */
export class TaskMismatchError extends WebInferError {
  override name = 'TaskMismatchError' as const;
  override readonly code = 'TASK_MISMATCH' as const;
  readonly model: string;
  readonly expected: string;
  readonly actual: string;
  constructor(message: string, fields: { model: string; expected: string; actual: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.model = fields.model;
    this.expected = fields.expected;
    this.actual = fields.actual;
  }
  override get fields(): { model: string; expected: string; actual: string } {
    return { model: this.model, expected: this.expected, actual: this.actual };
  }
}
