/**
 * The `TaskRuntime` interface: what one task implements in the worker, once. The runtime
 * (`../runtime.ts`) owns everything around it — backend, loading, cancellation, errors,
 * device-loss recovery — and dispatches every call through the task table (`./index.ts`).
 */
import { ModelDisposedError } from '../../src/shared/errors/model-disposed.js';
import type { BackendName, Format, TaskName } from '../../src/shared/lists.js';
import type { Outcome } from '../../src/shared/settle.js';
import type { ChunkSink, OpName, Ops, OpsOf } from '../../src/shared/wire.js';
import type { ModelInfo } from '../../src/shared/types.js';
import type { Engine } from '../engine/engine.js';
import type { LoadedFiles } from '../loader.js';

/** One call of an operation, as the task sees it. */
export interface OpCall<K extends OpName> {
  readonly callId: number;
  readonly input: Ops[K]['input'];
  /** Aborted when the caller gives up (its signal, its time limit, a disposed client). */
  readonly signal: AbortSignal;
}

/** What an operation gets besides its calls. */
export interface OpContext<K extends OpName> {
  /** The sender has other messages for this model in flight: more calls may be on their way. */
  readonly more: boolean;
  /** Streams chunks to the caller (streaming operations only). */
  readonly sink: ChunkSink<K> | undefined;
}

/** An operation of a loaded model: the calls of one message in, one outcome per call out (same order). */
export type OpFn<K extends OpName> = (calls: readonly OpCall<K>[], ctx: OpContext<K>) => Promise<Outcome<Ops[K]['output']>[]>;

/** The operations of one task's model. */
export type TaskOps<T extends TaskName> = { readonly [K in OpsOf<T>]: OpFn<K> };

/** Any loaded model's operations, by name; a model has those of its own task only. */
export type OpTable = { readonly [K in OpName]?: OpFn<K> };

/** Counters of model runs (the `debugBatchStats` test hook). */
export interface RunStats {
  messages: number;
  batches: number;
  images: number;
  largest: number;
  sizes: Record<number, number>;
}

/** What the runtime gives every task. */
export interface TaskEnv {
  /** Largest batch of calls run as one model run (1 = none). */
  readonly maxBatch: number;
  /** `debug: true` at init: test-only operations answer. */
  readonly debug: boolean;
  /**
   * Runs model work on the current backend. If the WebGPU device is lost during it, waits
   * until every model is rebuilt on the next backend and runs `fn` once more (so `fn` must
   * read the model anew, through `current()`).
   */
  run<R>(fn: () => Promise<R>): Promise<R>;
  /** The backend in use now. */
  backend(): BackendName;
  readonly stats: RunStats;
  /**
   * webinfer's WebAssembly engine (started on first use, one per worker, with the WASM backend's
   * thread count), where this worker has its binaries; undefined otherwise (tfjs ops then).
   */
  readonly engine?: () => Promise<Engine>;
}

/**
 * One task in the worker.
 *
 * @example
 * export const myTask = defineTask<'my-task', MyModel>({
 *   task: 'my-task', formats: ['tfjs-graph'],
 *   load: (files) => loadMyModel(files), warmUp: async () => {}, dispose: (m) => m.dispose(),
 *   ops: (current, env) => ({ 'my-task.run': async (calls) => calls.map((c) => ({ ok: true, value: current().run(c.input) })) }),
 * });
 */
export interface TaskRuntime<T extends TaskName, M> {
  readonly task: T;
  /** The model formats this task runs. */
  readonly formats: readonly Format[];
  /** Builds the model from its verified files, on the current backend (again after a backend switch). */
  load(files: LoadedFiles, env: TaskEnv): Promise<M>;
  /** One untimed run, so that the first call costs what the next ones do (kernel set-up, shader compilation). */
  warmUp(model: M, files: LoadedFiles, env: TaskEnv): Promise<void>;
  dispose(model: M): void;
  /**
   * True when the model does not run on tfjs's backend (webinfer's engine): a backend switch
   * neither frees nor rebuilds it. Default: every model runs on tfjs's backend.
   */
  portable?(model: M): boolean;
  /** What runs the model, the bytes its weights take as held, and task facts (for `model.info`). */
  describe?(model: M): ModelFacts;
  /**
   * The operations of one loaded model (with its queues). `current()` is the model now: it is
   * rebuilt after a backend switch, and throws ModelDisposedError once the model is unloaded.
   */
  ops(current: () => M, files: LoadedFiles, env: TaskEnv): TaskOps<T>;
}

/** Facts about a loaded model for `model.info` beyond its manifest: the ModelInfo fields a task fills in. */
export type ModelFacts = Partial<Pick<ModelInfo, 'runtime' | 'weightBytes' | 'contextLength' | 'chatTemplate' | 'generator'>>;

/** A loaded model, whatever its task: its operations, and the two steps of a backend switch. */
export interface Mounted {
  readonly ops: OpTable;
  /** What runs the model now, and its weights' bytes as held. */
  describe(): ModelFacts;
  /** Frees the model's tensors (before a backend switch, or for good with `dispose`). */
  release(): void;
  /** Builds the model again from its files, on the backend now in use. */
  rebuild(): Promise<void>;
  /** Frees it for good; later calls fail with ModelDisposedError. */
  dispose(): void;
}

/** A row of the task table: a task, its formats, and how to load a model of it. */
export interface TaskRow<T extends TaskName> {
  readonly task: T;
  readonly formats: readonly Format[];
  mount(files: LoadedFiles, env: TaskEnv): Promise<Mounted>;
}

/** Turns a {@link TaskRuntime} into its row of the task table (the model type stays inside). */
export function defineTask<T extends TaskName, M>(runtime: TaskRuntime<T, M>): TaskRow<T> {
  return {
    task: runtime.task,
    formats: runtime.formats,
    async mount(files, env) {
      const build = async (): Promise<M> => {
        const m = await runtime.load(files, env);
        try {
          await runtime.warmUp(m, files, env);
        } catch (e) {
          runtime.dispose(m);
          throw e;
        }
        return m;
      };
      let model: M | undefined = await env.run(build);
      let disposed = false;
      const where = `${files.manifest.id}@${files.manifest.version}`;
      const current = (): M => {
        if (disposed) throw new ModelDisposedError(`model "${where}" was disposed`, { model: files.manifest.id });
        if (model === undefined) throw new ModelDisposedError(`model "${where}" is being rebuilt after a backend switch and failed to load`, { model: files.manifest.id });
        return model;
      };
      const portable = (): boolean => model !== undefined && runtime.portable?.(model) === true;
      const release = (): void => {
        if (portable()) return;
        const m = model;
        model = undefined;
        if (m === undefined) return;
        try {
          runtime.dispose(m);
        } catch {
          /* a lost device takes its buffers with it */
        }
      };
      return {
        ops: runtime.ops(current, files, env),
        describe: () => (model !== undefined && runtime.describe ? runtime.describe(model) : {}),
        release,
        async rebuild() {
          if (portable()) return;
          release();
          if (!disposed) model = await build();
        },
        dispose() {
          disposed = true;
          const m = model;
          model = undefined;
          try {
            if (m !== undefined) runtime.dispose(m);
          } catch {
            /* a lost device takes its buffers with it */
          }
        },
      };
    },
  };
}
