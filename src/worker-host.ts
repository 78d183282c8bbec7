/**
 * Owns the inference worker from the main thread: starts it lazily, calls it
 * through comlink, and makes sure no call can hang:
 * - a crash (error event, failed start, or no answer to heartbeats) rejects every
 *   pending call with WorkerCrashedError, and the next call starts a new worker;
 * - every call can carry an AbortSignal and a time limit.
 */
import * as Comlink from 'comlink';
import { abortError, onAbort, throwIfAborted } from './shared/abort.js';
import { WebInferError } from './shared/errors/base.js';
import { checkSignal, checkTimeout } from './options.js';
import { ModelDisposedError } from './shared/errors/model-disposed.js';
import { TimeoutError } from './shared/errors/timeout.js';
import { WorkerCrashedError } from './shared/errors/worker-crashed.js';
import { deserializeError, isSerializedError } from './shared/errors/serialize.js';
import type { BackendInfo } from './shared/types.js';
import type { CallRequest, CallResponse, ChunkSink, InitRequest, OpName, WorkerApi } from './shared/wire.js';

export interface HostOptions {
  readonly init: InitRequest;
  readonly createWorker: () => Worker;
  /** With calls pending, a worker silent for this long is declared crashed. */
  readonly unresponsiveTimeoutMs: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** The worker-side id to abort when the caller gives up. */
  readonly callId?: number;
  readonly operation: string;
}

interface Live {
  readonly worker: Worker;
  readonly remote: Comlink.Remote<WorkerApi>;
  readonly generation: number;
  readonly ready: Promise<BackendInfo>;
  /** Rejects when this worker crashes. */
  readonly crashed: Promise<never>;
  crash(reason: string, error?: Error): void;
  lastSign: number;
  pinging: boolean;
  /** The worker has answered once: its script is evaluated (until then, the start-up grace applies). */
  alive: boolean;
}

/** Silence allowed before a new worker's first answer (it is loading and compiling its script). */
export const STARTUP_GRACE_MS = 30_000;

let nextCallId = 1;
/** A fresh id for a worker call. */
export function newCallId(): number {
  return nextCallId++;
}

/**
 * Runs calls of one operation in the worker and answers with its typed outcomes.
 *
 * comlink's `Remote<T>` erases the type parameters of generic methods, so `remote.call`
 * answers `CallResponse` for every operation; the answer's `op` is checked against the
 * request's here, and its type restored to `CallResponse<K>` (the one cast of the boundary).
 *
 * @example
 * const res = await callOp(remote, { op: 'image-classification.classify', handle, items: [{ callId, input: { image, topK: 3 } }], more: false });
 * res.outcomes[0]; // { ok: true, value: [{ label: 'Sneaker', index: 7, score: 0.93 }, …] }
 */
export async function callOp<K extends OpName>(remote: Comlink.Remote<WorkerApi>, req: CallRequest<K>, sink?: ChunkSink<K>): Promise<CallResponse<K>> {
  const res = await remote.call(req, sink ? Comlink.proxy(sink) : undefined);
  if (res.op !== req.op) throw new WebInferError(`the worker answered ${res.op} to a ${req.op} request`);
  return res as CallResponse<K>;
}

/** Turns what the worker threw back into our own error classes. */
export function revive(e: unknown): unknown {
  return isSerializedError(e) ? deserializeError(e) : e;
}

export class WorkerHost {
  #live: Live | undefined;
  #generation = 0;
  #pending = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #disposed = false;
  #backend: BackendInfo | undefined;

  constructor(readonly options: HostOptions) {}

  /** Increments each time a new worker starts; model handles compare it to know when to reload. */
  get generation(): number {
    return this.#generation;
  }

  /** The backend of the running worker, once it is known. */
  get backend(): BackendInfo | undefined {
    return this.#backend;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #start(): Live {
    if (this.#disposed) throw new ModelDisposedError('the webinfer client was disposed', { model: '*' });
    if (this.#live) return this.#live;
    const generation = ++this.#generation;
    let worker: Worker;
    try {
      worker = this.options.createWorker();
    } catch (e) {
      throw new WorkerCrashedError(`the inference worker could not be created: ${e instanceof Error ? e.message : String(e)}`, { reason: 'create-failed' }, { cause: e });
    }
    let crash!: (reason: string, error?: Error) => void;
    const crashed = new Promise<never>((_, reject) => {
      crash = (reason, error) => reject(error ?? new WorkerCrashedError(`the inference worker crashed: ${reason}`, { reason }));
    });
    crashed.catch(() => undefined);
    const remote = Comlink.wrap<WorkerApi>(worker);
    // Assigned just below; the callbacks that read it run later.
    let live!: Live;
    // The worker pushes every later change of backend (a fallback after a lost device).
    const onBackend = Comlink.proxy((info: BackendInfo) => {
      if (this.#live === live) this.#backend = info;
    });
    const ready = Promise.race([remote.init(this.options.init, onBackend), crashed]).then(
      (info) => {
        this.#backend = info;
        // The worker answered: its script is running, the start-up grace is over.
        live.alive = true;
        live.lastSign = Date.now();
        return info;
      },
      (e: unknown) => {
        const err = revive(e);
        // A worker that cannot start its backend is useless: drop it, the next call retries.
        if (this.#live === live) {
          this.#live = undefined;
          worker.terminate();
        }
        throw err;
      },
    );
    live = {
      worker,
      remote,
      generation,
      ready,
      crashed,
      crash: (reason, error) => this.#crash(live, reason, error, crash),
      lastSign: Date.now(),
      pinging: false,
      alive: false,
    };
    worker.addEventListener('error', (ev: ErrorEvent) => {
      ev.preventDefault?.();
      live.crash(ev.message ? `uncaught error in the worker: ${ev.message}` : 'the worker script failed to load or threw');
    });
    worker.addEventListener('messageerror', () => live.crash('a message from the worker could not be deserialised'));
    this.#live = live;
    return live;
  }

  #crash(live: Live, reason: string, error: Error | undefined, reject: (reason: string, error?: Error) => void): void {
    if (this.#live === live) this.#live = undefined;
    live.worker.terminate();
    reject(reason, error);
  }

  /** Starts the worker if needed and waits for its backend. */
  async ready(signal?: AbortSignal): Promise<BackendInfo> {
    return this.call((_remote, info) => Promise.resolve(info), { operation: 'init', signal });
  }

  /**
   * Runs `fn` against the worker. Settles no later than: the worker's answer, a crash
   * of that worker, the caller's signal, or `timeoutMs`.
   */
  async call<T>(fn: (remote: Comlink.Remote<WorkerApi>, backend: BackendInfo, generation: number) => Promise<T>, opts: CallOptions): Promise<T> {
    const signal = checkSignal('signal', opts.signal);
    checkTimeout('timeoutMs', opts.timeoutMs);
    throwIfAborted(signal, opts.operation);
    const live = this.#start();
    this.#enter(live);
    const cleanups: (() => void)[] = [];
    try {
      const guards: Promise<never>[] = [live.crashed];
      if (signal) {
        guards.push(
          new Promise<never>((_, reject) => {
            cleanups.push(
              onAbort(signal, () => {
                if (opts.callId !== undefined) void live.remote.abort(opts.callId).catch(() => undefined);
                reject(abortError(signal, opts.operation));
              }),
            );
          }),
        );
      }
      if (opts.timeoutMs !== undefined && opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)) {
        const ms = opts.timeoutMs;
        guards.push(
          new Promise<never>((_, reject) => {
            const t = setTimeout(() => {
              if (opts.callId !== undefined) void live.remote.abort(opts.callId).catch(() => undefined);
              reject(new TimeoutError(`${opts.operation} took longer than ${ms} ms`, { operation: opts.operation, timeoutMs: ms }));
            }, ms);
            cleanups.push(() => clearTimeout(t));
          }),
        );
      }
      const work = (async () => {
        const info = await live.ready;
        return fn(live.remote, info, live.generation);
      })();
      try {
        return await Promise.race([work, ...guards]);
      } catch (e) {
        throw revive(e);
      }
    } finally {
      cleanups.forEach((c) => c());
      this.#leave();
    }
  }

  #enter(live: Live): void {
    if (this.#pending++ === 0) live.lastSign = Date.now();
    if (this.#heartbeat === undefined) {
      const every = Math.max(100, Math.min(2000, this.options.unresponsiveTimeoutMs / 4));
      this.#heartbeat = setInterval(() => this.#beat(), every);
    }
  }

  #leave(): void {
    if (--this.#pending === 0 && this.#heartbeat !== undefined) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  #beat(): void {
    const live = this.#live;
    if (!live) return;
    // A new worker first evaluates its script (tfjs and all, seconds on a busy phone): it cannot
    // answer before that, so the silence allowed until its first answer is at least STARTUP_GRACE_MS.
    const limit = live.alive ? this.options.unresponsiveTimeoutMs : Math.max(this.options.unresponsiveTimeoutMs, STARTUP_GRACE_MS);
    if (Date.now() - live.lastSign > limit) {
      live.crash(`no answer to heartbeats for ${limit} ms (worker closed, hung or out of memory)`);
      return;
    }
    if (live.pinging) return;
    live.pinging = true;
    live.remote.ping().then(
      () => {
        live.lastSign = Date.now();
        live.pinging = false;
        live.alive = true;
      },
      () => {
        live.pinging = false;
      },
    );
  }

  /** Test hook: makes the worker crash (needs `debug: true`). */
  crashForTest(mode: 'throw' | 'close'): void {
    void this.#live?.remote.debugCrash(mode);
  }

  /** Stops the worker; pending calls reject with ModelDisposedError. */
  dispose(): void {
    this.#disposed = true;
    const live = this.#live;
    this.#live = undefined;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    if (live) {
      live.worker.terminate();
      live.crash('the client was disposed', new ModelDisposedError('the webinfer client was disposed', { model: '*' }));
    }
  }
}
