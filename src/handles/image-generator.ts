import * as Comlink from 'comlink';
import { Coalescer, type Outcome } from '../batching/coalesce.js';
import { abortError } from '../shared/abort.js';
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import { WebInferError } from '../shared/errors/base.js';
import { checkCount, checkLatent, checkSeed, checkSteps, interpolateLatents, MAX_LATENTS } from '../shared/latents.js';
import { toWire, type ImageInput } from '../image/to-wire.js';
import { callOp, newCallId } from '../worker-host.js';
import type { GeneratedImage, GeneratedImages, GeneratorInfo, ModelInfo } from '../shared/types.js';
import type { CallItem, Ops, WorkerApi } from '../shared/wire.js';
import type { ModelContext } from './context.js';
import { ModelHandle } from './handle.js';

/** What every call of an ImageGenerator takes besides its input. */
export interface ImageCallOptions {
  readonly signal?: AbortSignal;
  /** Time limit of this call. Default: the client's `callTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Options of `ImageGenerator.generate()`. */
export interface GenerateImagesOptions extends ImageCallOptions {
  /** How many pictures, 1 to 64. Default 1. */
  readonly count?: number;
  /** An integer from 0 to 2³²−1: same seed, same latents, same pictures. Default: random (reported in the result). */
  readonly seed?: number;
}

/** Options of `ImageGenerator.interpolate()`. */
export interface InterpolateOptions extends ImageCallOptions {
  /** `slerp` (default: keeps Gaussian latents at a typical norm) or `linear`. */
  readonly mode?: 'slerp' | 'linear';
}

/** A latent vector: `model.info.generator.latentDim` numbers. */
export type Latent = Float32Array | readonly number[];

/** What `interpolate()` answers: the pictures from `a` to `b` (both included) and their latents. */
export interface Interpolation {
  readonly images: GeneratedImage[];
  readonly latents: Float32Array[];
}

/** Batched operations of this handle: each has its own coalescer (one message per op and tick). */
type BatchedOp = 'image-generation.generate' | 'image-generation.decode' | 'image-generation.encode';

interface Pending<K extends BatchedOp> {
  readonly item: CallItem<K>;
  readonly transfer: Transferable[];
  readonly signal: AbortSignal | undefined;
}

/**
 * A loaded image generator (a VAE or a GAN). Get one from `client.load()`.
 *
 * Concurrent calls are micro-batched like `classify()`: `generate()` and `decode()` calls made together
 * run in the worker as one model call on all their latents, `encode()` calls as one encoder call.
 *
 * @example
 * const gen = await client.load('fashion-vae@stable', { task: 'image-generation' });
 * const { images, latents } = await gen.generate({ count: 4, seed: 7 });
 * // images: 4 × { width: 28, height: 28, data: Uint8ClampedArray(3136) (RGBA) }; latents: 4 × Float32Array(16)
 * drawImage(canvas, images[0]!);
 * const steps = await gen.interpolate(picture1, picture2, 8); // VAE: 8 pictures from one to the other
 */
export class ImageGenerator extends ModelHandle<'image-generation'> {
  readonly task = 'image-generation' as const;
  readonly #coalescers = new Map<BatchedOp, Coalescer<Comlink.Remote<WorkerApi>, Pending<BatchedOp>, unknown>>();
  readonly #inFlight = new WeakMap<Comlink.Remote<WorkerApi>, number>();

  /** @internal Use `client.load()`. */
  constructor(ctx: ModelContext, handle: number, info: ModelInfo, generation: number) {
    super(ctx, handle, info, generation);
  }

  /** What the model makes and takes: kind (`vae` / `gan`), latent size, picture size, output range. */
  get generator(): GeneratorInfo {
    const g = this.info.generator;
    if (!g) throw new WebInferError(`model "${this.id}" reported no generator facts`);
    return g;
  }

  /**
   * `count` pictures from seeded standard-normal latents (the card's sampler, run in the worker).
   *
   * @example
   * const { images, latents, seed } = await gen.generate({ count: 2, seed: 42 });
   * // images.length === 2, latents[0].length === 16, seed === 42; the same call again gives the same bytes
   */
  async generate(options: GenerateImagesOptions = {}): Promise<GeneratedImages> {
    this.assertLive();
    const count = checkCount(options.count);
    const seed = checkSeed(options.seed);
    return this.#submit('image-generation.generate', { count, seed }, [], options, 'generate') as Promise<GeneratedImages>;
  }

  /**
   * Latent vectors → pictures (one per latent, in order).
   *
   * @example
   * const [again] = await gen.decode([latents[0]]); // the same picture as generate() made from it
   */
  async decode(latents: readonly Latent[], options: ImageCallOptions = {}): Promise<GeneratedImage[]> {
    this.assertLive();
    const checked = this.#latents(latents, 'latents');
    return this.#submit('image-generation.decode', { latents: checked }, checked.map((z) => z.buffer), options, 'decode') as Promise<GeneratedImage[]>;
  }

  /**
   * A picture → its latent vector (the encoder's mean). VAE only (`generator.canEncode`); pictures of any
   * size are resized to the model's, colour is turned to gray for a gray model.
   *
   * @example
   * const z = await vae.encode({ data: pixels, width: 28, height: 28, channels: 1 }); // Float32Array(16)
   */
  async encode(image: ImageInput, options: ImageCallOptions = {}): Promise<Float32Array> {
    this.assertLive();
    this.#assertEncoder();
    const wire = await toWire(image, false);
    return this.#submit('image-generation.encode', { image: wire.image }, wire.transfer, options, 'encode') as Promise<Float32Array>;
  }

  /**
   * `steps` pictures from `a` to `b`, both included. Pictures are encoded first (VAE only); latents
   * (any kind of generator) are used as they are. Then the latents are interpolated (slerp by default)
   * and decoded as one batch.
   *
   * @example
   * const { images } = await vae.interpolate(shoe, shirt, 8);   // 8 pictures, shoe → shirt
   * await gan.interpolate(latents[0], latents[1], 5);           // between two generated pictures
   */
  async interpolate(a: ImageInput | Latent, b: ImageInput | Latent, steps = 8, options: InterpolateOptions = {}): Promise<Interpolation> {
    this.assertLive();
    const n = checkSteps(steps);
    const mode = options.mode ?? 'slerp';
    if (mode !== 'slerp' && mode !== 'linear') throw new InvalidInputError(`mode must be 'slerp' or 'linear', got ${String(mode)}`, { reason: 'bad-mode', field: 'mode' });
    const end = (x: ImageInput | Latent, field: string): Promise<Float32Array> =>
      isLatent(x) ? Promise.resolve(checkLatent(x, this.generator.latentDim, field)) : this.encode(x as ImageInput, options);
    const [za, zb] = await Promise.all([end(a, 'a'), end(b, 'b')]);
    const latents = interpolateLatents(za, zb, n, mode);
    const images = await this.decode(latents.map((z) => z.slice()), options);
    return { images, latents };
  }

  /** @internal Test hook (needs `debug: true`): latents → the model's raw float outputs. */
  debugRaw(latents: readonly Latent[]): Promise<Float32Array[]> {
    const checked = this.#latents(latents, 'latents');
    return this.call(
      async (remote) => {
        const res = await callOp(remote, { op: 'image-generation.raw', handle: this.handle, items: [{ callId: newCallId(), input: { latents: checked } }], more: false });
        const o = res.outcomes[0];
        if (!o) throw new WebInferError('the worker answered no outcome');
        if (!o.ok) throw o.error;
        return o.value;
      },
      { operation: 'debug', timeoutMs: 60_000 },
    );
  }

  #assertEncoder(): void {
    if (!this.generator.canEncode) {
      throw new InvalidInputError(`"${this.id}" is a ${this.generator.kind} without an encoder: it cannot encode pictures`, { reason: 'no-encoder', field: 'image' });
    }
  }

  #latents(latents: unknown, field: string): Float32Array[] {
    if (!Array.isArray(latents) || latents.length === 0 || latents.length > MAX_LATENTS) {
      throw new InvalidInputError(`${field} must be an array of 1 to ${MAX_LATENTS} latent vectors`, { reason: 'bad-latents', field });
    }
    return latents.map((z, i) => checkLatent(z, this.generator.latentDim, `${field}[${i}]`));
  }

  #submit<K extends BatchedOp>(op: K, input: Ops[K]['input'], transfer: Transferable[], options: ImageCallOptions, operation: string): Promise<unknown> {
    const callId = newCallId();
    const pending: Pending<K> = { item: { callId, input }, transfer, signal: options.signal };
    return this.call((remote) => this.#coalescer(op).submit(remote, pending as unknown as Pending<BatchedOp>), {
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? this.context.callTimeoutMs,
      callId,
      operation,
    });
  }

  #coalescer(op: BatchedOp): Coalescer<Comlink.Remote<WorkerApi>, Pending<BatchedOp>, unknown> {
    let c = this.#coalescers.get(op);
    if (!c) {
      c = new Coalescer<Comlink.Remote<WorkerApi>, Pending<BatchedOp>, unknown>((remote, pending) => this.#send(op, remote, pending), {
        maxBatch: this.context.maxBatch,
        cancelled: (p) => (p.signal?.aborted ? abortError(p.signal, op.slice('image-generation.'.length)) : undefined),
      });
      this.#coalescers.set(op, c);
    }
    return c;
  }

  /** Sends coalesced calls of one operation as one message; one outcome per call. */
  async #send(op: BatchedOp, remote: Comlink.Remote<WorkerApi>, pending: Pending<BatchedOp>[]): Promise<(Outcome<unknown> | undefined)[]> {
    const inFlight = this.#inFlight.get(remote) ?? 0;
    this.#inFlight.set(remote, inFlight + 1);
    const transfer = pending.flatMap((p) => p.transfer);
    const req = { op, handle: this.handle, items: pending.map((p) => p.item), more: inFlight > 0 };
    const res = await callOp(remote, Comlink.transfer(req as never, transfer)).finally(() => this.#inFlight.set(remote, (this.#inFlight.get(remote) ?? 1) - 1));
    return res.outcomes as (Outcome<unknown> | undefined)[];
  }
}

/** True for a latent vector (a Float32Array or an array of numbers), false for a picture. */
function isLatent(x: unknown): x is Latent {
  return x instanceof Float32Array || (Array.isArray(x) && x.every((v) => typeof v === 'number'));
}

/**
 * Draws a generated picture on a canvas (resized to the picture, 1 canvas pixel per picture pixel;
 * scale it up with CSS, e.g. `image-rendering: pixelated`).
 *
 * @example
 * drawImage(document.querySelector('canvas')!, (await gen.generate({ seed: 1 })).images[0]!);
 */
export function drawImage(canvas: HTMLCanvasElement | OffscreenCanvas, image: GeneratedImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!ctx) throw new WebInferError('the canvas has no 2d context');
  ctx.putImageData(toImageData(image), 0, 0);
}

/**
 * A generated picture as a DOM ImageData (shares no memory with it: a copy).
 *
 * @example
 * ctx.putImageData(toImageData(images[0]!), 0, 0);
 */
export function toImageData(image: GeneratedImage): ImageData {
  return new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
}
