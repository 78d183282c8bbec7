/**
 * The model table: every model loaded in this worker, by the handle the main thread gave it.
 */
import { ModelDisposedError } from '../src/shared/errors/model-disposed.js';
import type { ModelInfo } from '../src/shared/types.js';
import type { LoadedFiles } from './loader.js';
import type { Mounted } from './tasks/task.js';

/** One loaded model: what was reported, its verified files, and its task's operations. */
export interface LoadedModel {
  readonly info: ModelInfo;
  readonly files: LoadedFiles;
  readonly mounted: Mounted;
}

export class ModelTable {
  readonly #models = new Map<number, LoadedModel>();

  get size(): number {
    return this.#models.size;
  }

  /** The model `handle`; ModelDisposedError when there is none (disposed, or never loaded in this worker). */
  get(handle: number): LoadedModel {
    const m = this.#models.get(handle);
    if (!m) throw new ModelDisposedError('this model was disposed (or never loaded in this worker)', { model: String(handle) });
    return m;
  }

  /** Puts `model` under `handle`; a model there before (a reload) is disposed. */
  set(handle: number, model: LoadedModel): void {
    const old = this.#models.get(handle);
    this.#models.set(handle, model);
    if (old && old !== model) old.mounted.dispose();
  }

  /** Disposes the model `handle`, if any. */
  delete(handle: number): void {
    const m = this.#models.get(handle);
    this.#models.delete(handle);
    m?.mounted.dispose();
  }

  /** Frees every model's tensors (before a backend switch). */
  release(): void {
    for (const m of this.#models.values()) m.mounted.release();
  }

  /** Builds every model again on the backend now in use; resolves to the errors of those that failed (their calls then fail). */
  async rebuild(): Promise<unknown[]> {
    const failures: unknown[] = [];
    for (const m of this.#models.values()) {
      try {
        await m.mounted.rebuild();
      } catch (e) {
        failures.push(e);
      }
    }
    return failures;
  }
}
