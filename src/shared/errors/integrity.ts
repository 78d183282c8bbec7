import { WebInferError } from './base.js';

/**
 * Downloaded bytes do not match the SHA-256 (or size) the manifest promises. Nothing is cached.
 *
 * @example
 * err.expected; // 'sha256:9f86d0…' err.actual; // 'sha256:1b4f0e…'
 */
export class IntegrityError extends WebInferError {
  override name = 'IntegrityError' as const;
  override readonly code = 'INTEGRITY' as const;
  readonly file: string;
  readonly expected: string;
  readonly actual: string;
  constructor(message: string, fields: { file: string; expected: string; actual: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.file = fields.file;
    this.expected = fields.expected;
    this.actual = fields.actual;
  }
  override get fields(): { file: string; expected: string; actual: string } {
    return { file: this.file, expected: this.expected, actual: this.actual };
  }
}
