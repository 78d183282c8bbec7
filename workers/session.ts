/**
 * The backend session: owns the backend in use, notices a lost WebGPU device, recovers from
 * it, and tells the main thread whenever the backend changes.
 *
 * After a lost device:
 * - `auto`: moves to the next backend (never WebGPU again in this worker) and rebuilds every
 *   model on it from its verified bytes;
 * - a forced `webgpu`: never falls back to another backend. It asks for a new WebGPU device and
 *   rebuilds every model on it; if no device can be had, every later call fails with
 *   BackendUnavailableError.
 * Either way the change is recorded in `info.fallbacks` and pushed through `onChange`, and the
 * model run that was under way when the device went is run once more (`run`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../src/shared/errors/backend-unavailable.js';
import type { BackendInfo } from '../src/shared/types.js';
import { selectBackend, webgpuDevice, type SelectOptions } from './backend.js';

/** How a session picks a backend (the default is `selectBackend`; tests pass their own). */
export type SelectBackend = (opts: SelectOptions, fallbacks: BackendInfo['fallbacks']) => Promise<BackendInfo>;

/** What the session does to the models around a backend switch. */
export interface Rebuilder {
  /** Frees every model's tensors (they belong to the old backend). */
  release(): void;
  /** Builds every model again on the new backend; resolves to the errors of those that failed. */
  rebuild(): Promise<unknown[]>;
}

export interface SessionOptions {
  /** The backend choice (preference, WASM paths and threads…); `onDeviceLost` is the session's own. */
  readonly select: Omit<SelectOptions, 'onDeviceLost' | 'exclude'>;
  readonly selectBackend?: SelectBackend;
  /** Called with the new backend after every change (not for the first choice: `start` returns it). */
  readonly onChange?: (info: BackendInfo) => void;
}

/** How long a failed run waits for the device's `lost` promise before it calls the error a real one. */
const LOST_GRACE_MS = 200;

export class BackendSession {
  readonly #options: SessionOptions;
  readonly #models: Rebuilder;
  #info!: BackendInfo;
  #lost: string | undefined;
  #recovering: Promise<void> | undefined;
  #failed: BackendUnavailableError | undefined;
  #loseDuringNextRun = false;
  /** Backend changes so far, for `run` to see whether one happened under it. */
  #switches = 0;

  private constructor(options: SessionOptions, models: Rebuilder) {
    this.#options = options;
    this.#models = models;
  }

  /**
   * Picks the first backend. Throws BackendUnavailableError when a forced backend cannot run, or nothing can.
   *
   * @example
   * const session = await BackendSession.start({ select: { preference: 'auto', allowSoftwareWebGPU: false, wasmPaths, wasmThreads: 0 } }, models);
   * session.info.name; // 'wasm'
   */
  static async start(options: SessionOptions, models: Rebuilder): Promise<BackendSession> {
    const session = new BackendSession(options, models);
    session.#info = await session.#select(options.select, []);
    return session;
  }

  /** The backend in use, why, and what happened to it so far. */
  get info(): BackendInfo {
    return this.#info;
  }

  #select(select: SessionOptions['select'] & { exclude?: SelectOptions['exclude'] }, fallbacks: BackendInfo['fallbacks']): Promise<BackendInfo> {
    const pick = this.#options.selectBackend ?? selectBackend;
    return pick({ ...select, onDeviceLost: (reason) => this.#onDeviceLost(reason) }, fallbacks);
  }

  #onDeviceLost(reason: string): void {
    this.#lost = reason;
    // Move off the lost device right away, so the next call does not wait for it.
    void this.#recover().catch(() => undefined);
  }

  /** After a lost device: a new backend (or a new device for a forced WebGPU), every model rebuilt on it. */
  #recover(): Promise<void> {
    this.#recovering ??= (async () => {
      const reason = this.#lost ?? 'WebGPU failed';
      const forced = this.#options.select.preference === 'webgpu';
      this.#models.release();
      let next: BackendInfo;
      try {
        next = forced
          ? await this.#select(this.#options.select, this.#info.fallbacks)
          : await this.#select({ ...this.#options.select, preference: 'auto', allowSoftwareWebGPU: false, exclude: new Set(['webgpu']) }, this.#info.fallbacks);
      } catch (e) {
        this.#failed = new BackendUnavailableError(
          forced
            ? `backend "webgpu" is unavailable: ${reason}, and no new WebGPU device could be created (a forced backend never falls back)`
            : `no backend could take over after ${reason}`,
          { backend: this.#options.select.preference, reason },
          { cause: e },
        );
        this.#lost = undefined;
        throw this.#failed;
      }
      if (next.name !== 'webgpu' && tf.findBackend('webgpu')) tf.removeBackend('webgpu');
      const to = next.name;
      const why = forced ? `${reason}; a new WebGPU device was created (backend forced to "webgpu": no fallback to another backend)` : reason;
      this.#info = { ...next, fallbacks: [...this.#info.fallbacks, { from: 'webgpu', to, reason: why }] };
      this.#switches++;
      this.#lost = undefined;
      await this.#models.rebuild();
      this.#options.onChange?.(this.#info);
    })().finally(() => {
      this.#recovering = undefined;
    });
    return this.#recovering;
  }

  /**
   * Runs model work on the current backend. If the WebGPU device is lost during it, waits for
   * the recovery and runs `fn` once more; a forced WebGPU backend that could not get a new
   * device fails with BackendUnavailableError.
   *
   * @example
   * const scores = await session.run(() => classifyImages(current(), manifest, jobs));
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.#settle();
    const switches = this.#switches;
    if (this.#loseDuringNextRun) {
      this.#loseDuringNextRun = false;
      webgpuDevice()?.destroy();
    }
    try {
      return await fn();
    } catch (e) {
      if (this.#switches === switches && this.#info.name !== 'webgpu') throw e;
      // The device's `lost` promise may settle just after the failing read: give it a moment.
      for (let waited = 0; waited < LOST_GRACE_MS && this.#lost === undefined && this.#recovering === undefined && this.#switches === switches && !this.#failed; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await this.#settle();
      if (this.#switches === switches) throw e; // not a lost device: a real error
      return await fn();
    }
  }

  /** Waits for a recovery under way (or starts one for a loss not handled yet); throws if the backend is gone for good. */
  async #settle(): Promise<void> {
    if (this.#recovering) await this.#recovering.catch(() => undefined);
    else if (this.#lost !== undefined) await this.#recover().catch(() => undefined);
    if (this.#failed) throw this.#failed;
  }

  /** Test hook: destroys the WebGPU device now (`now`) or at the start of the next model run. False when not on WebGPU. */
  loseDevice(when: 'now' | 'during-next-run'): boolean {
    const device = webgpuDevice();
    if (!device) return false;
    if (when === 'during-next-run') this.#loseDuringNextRun = true;
    else device.destroy();
    return true;
  }
}
