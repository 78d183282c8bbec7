import { WebInferError } from './base.js';

/**
 * A registry document or model file failed schema validation or is internally inconsistent.
 *
 * @example
 * err.issues; // ['task: Invalid type: Expected string but received undefined']
 */
export class ManifestError extends WebInferError {
  override name = 'ManifestError' as const;
  override readonly code = 'INVALID_MANIFEST' as const;
  readonly url: string;
  readonly issues: string[];
  constructor(message: string, fields: { url: string; issues: string[] }, options?: { cause?: unknown }) {
    super(message, options);
    this.url = fields.url;
    this.issues = fields.issues;
  }
  override get fields(): { url: string; issues: string[] } {
    return { url: this.url, issues: this.issues };
  }
}
