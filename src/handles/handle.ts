import type * as Comlink from 'comlink';
import { ModelDisposedError } from '../shared/errors/model-disposed.js';
import { newCallId, type CallOptions } from '../worker-host.js';
import type { TaskName } from '../shared/lists.js';
import type { BackendInfo, ModelInfo } from '../shared/types.js';
import type { WorkerApi } from '../shared/wire.js';
import type { ModelContext } from './context.js';

/**
 * What every model handle shares: its worker-side handle, reloading after a worker
 * crash, and dispose(). One subclass per task, registered in the handle table
 * (`./index.ts`): Classifier, TextGenerator.
 */
export abstract class ModelHandle<T extends TaskName = TaskName> {
  /** The task of this model (and of this handle's methods). */
  abstract readonly task: T;
  /** What the worker reported when the model was loaded. */
  readonly info: ModelInfo;
  readonly #ctx: ModelContext;
  readonly #handle: number;
  #generation: number;
  #disposed = false;
  #reload: { readonly generation: number; readonly done: Promise<void> } | undefined;

  /** @internal Use `client.load()`. */
  constructor(ctx: ModelContext, handle: number, info: ModelInfo, generation: number) {
    this.#ctx = ctx;
    this.#handle = handle;
    this.info = info;
    this.#generation = generation;
  }

  /** The model id. */
  get id(): string {
    return this.info.id;
  }
  /** The exact version loaded (aliases are resolved at load time). */
  get version(): string {
    return this.info.version;
  }

  /** @internal The client this handle belongs to. */
  protected get context(): ModelContext {
    return this.#ctx;
  }

  /** @internal The model's id in the worker. */
  protected get handle(): number {
    return this.#handle;
  }

  /** @internal Throws ModelDisposedError after dispose(). */
  protected assertLive(): void {
    if (this.#disposed) throw new ModelDisposedError(`model "${this.id}" was disposed`, { model: this.id });
  }

  /**
   * @internal Runs `fn` in the worker that holds this model. If the worker was replaced
   * (crash), this exact version and weights variant are loaded there again first, from the cache.
   */
  protected call<R>(fn: (remote: Comlink.Remote<WorkerApi>, backend: BackendInfo) => Promise<R>, opts: CallOptions): Promise<R> {
    return this.#ctx.host.call(async (remote, backend, generation) => {
      if (generation !== this.#generation) await this.#reloadIn(remote, generation);
      return fn(remote, backend);
    }, opts);
  }

  /** Loads this model into worker `generation` once, however many calls wait for it. */
  #reloadIn(remote: Comlink.Remote<WorkerApi>, generation: number): Promise<void> {
    if (this.#reload?.generation !== generation) {
      const done = remote.load({ callId: newCallId(), handle: this.#handle, ref: `${this.info.id}@${this.info.version}`, task: this.task, dtype: this.info.dtype, integrity: this.info.integrity }).then(() => {
        this.#generation = generation;
      });
      const reload = { generation, done };
      this.#reload = reload;
      // A failed reload is tried again by the next call.
      done.catch(() => {
        if (this.#reload === reload) this.#reload = undefined;
      });
    }
    return this.#reload.done;
  }

  /** Frees the model in the worker. Further calls throw ModelDisposedError. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#ctx.forget(this.#handle);
    if (this.#ctx.host.disposed) return;
    const generation = this.#generation;
    await this.#ctx.host
      .call(async (remote, _b, gen) => (gen === generation ? remote.unload(this.#handle) : undefined), { operation: 'dispose', timeoutMs: 10_000 })
      .catch(() => undefined);
  }
}
