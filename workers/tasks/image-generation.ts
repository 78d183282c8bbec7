/**
 * Task `image-generation` (format `tfjs-layers`): a generator network that turns latent vectors into
 * pictures — a GAN's generator, or a VAE's decoder with its encoder beside it. Operations: `generate`
 * (seeded latents → pictures) and `decode` (latents → pictures) share one batch queue, so concurrent
 * calls of either run as ONE model call on a [N, latentDim] tensor; `encode` (pictures → latent means,
 * VAE only) has its own. What the model makes and takes is the manifest's `generator` section.
 */
import * as tf from '@tensorflow/tfjs-core';
import { abortError, throwIfAborted } from '../../src/shared/abort.js';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { RawPixels } from '../../src/shared/image-limits.js';
import { checkCount, checkLatent, checkSeed, MAX_LATENTS, sampleLatents } from '../../src/shared/latents.js';
import type { GeneratorSpec, ImagePreprocess, Manifest } from '../../src/shared/registry/schema.js';
import type { Outcome } from '../../src/shared/settle.js';
import type { GeneratedImage, GeneratorInfo } from '../../src/shared/types.js';
import type { OpName, Ops } from '../../src/shared/wire.js';
import { decodeImage } from '../decode.js';
import type { LoadedFiles } from '../loader.js';
import { BatchQueue } from '../queues/batch-queue.js';
import { createRunnable, type Runnable } from '../runnable.js';
import { preprocess } from './image-classification.js';
import { defineTask, type OpCall, type TaskEnv } from './task.js';

/** A loaded generator: the network that makes pictures, and a VAE's encoder. */
export interface GeneratorModel {
  readonly spec: GeneratorSpec;
  readonly generator: Runnable;
  readonly encoder?: Runnable;
}

/** Most latents run as one model call (a batch of more runs in chunks of this size). */
const RUN_CHUNK = MAX_LATENTS;

/** The manifest's generator section (the schema requires it for this task). */
export function generatorSpec(manifest: Manifest): GeneratorSpec {
  const g = manifest.generator;
  if (!g) throw new ManifestError(`"${manifest.id}" has no generator section`, { url: manifest.id, issues: ['missing generator'] });
  return g;
}

/** What `model.info.generator` says. */
export function generatorInfo(g: GeneratorSpec): GeneratorInfo {
  return { kind: g.kind, latentDim: g.latentDim, width: g.width, height: g.height, channels: g.channels, outputRange: [g.outputRange[0], g.outputRange[1]], sampler: g.sampler, canEncode: g.encoder !== undefined };
}

/** The same verified files, with another tfjs model JSON of them as the entry (a VAE's encoder). */
function withEntry(files: LoadedFiles, entry: string): LoadedFiles {
  const m = files.manifest;
  const variant = m.variants[files.dtype] ?? m.variants.float32;
  return { ...files, manifest: { ...m, variants: { ...m.variants, [files.dtype]: { ...variant, entry } } } };
}

async function loadGenerator(files: LoadedFiles): Promise<GeneratorModel> {
  const g = generatorSpec(files.manifest);
  const generator = await createRunnable(files);
  if (g.encoder === undefined) return { spec: g, generator };
  try {
    return { spec: g, generator, encoder: await createRunnable(withEntry(files, g.encoder)) };
  } catch (e) {
    generator.dispose();
    throw e;
  }
}

/**
 * Raw outputs ([H·W·C] floats each, row-major, channels last) → RGBA pictures: `outputRange` mapped
 * linearly to 0–255 (rounded and clamped by Uint8ClampedArray), gray drawn as R = G = B, alpha 255.
 *
 * @example
 * toImages([new Float32Array([-1, 0, 1])], { width: 3, height: 1, channels: 1, outputRange: [-1, 1] })[0]!.data;
 * // Uint8ClampedArray [0,0,0,255, 128,128,128,255, 255,255,255,255]
 */
export function toImages(raw: readonly Float32Array[], g: Pick<GeneratorSpec, 'width' | 'height' | 'channels' | 'outputRange'>): GeneratedImage[] {
  const [lo, hi] = g.outputRange;
  const k = 255 / (hi - lo);
  const n = g.width * g.height;
  return raw.map((out) => {
    const data = new Uint8ClampedArray(n * 4);
    for (let p = 0; p < n; p++) {
      const o = p * g.channels;
      const r = ((out[o] as number) - lo) * k;
      data[p * 4] = r;
      data[p * 4 + 1] = g.channels === 1 ? r : ((out[o + 1] as number) - lo) * k;
      data[p * 4 + 2] = g.channels === 1 ? r : ((out[o + 2] as number) - lo) * k;
      data[p * 4 + 3] = 255;
    }
    return { width: g.width, height: g.height, data };
  });
}

/**
 * Runs latent vectors through the generator as one model call per {@link RUN_CHUNK} latents and
 * returns each one's raw output. The caller checked every latent's length.
 */
export async function runLatents(model: Runnable, g: GeneratorSpec, latents: readonly Float32Array[]): Promise<Float32Array[]> {
  const size = g.width * g.height * g.channels;
  const out: Float32Array[] = [];
  for (let start = 0; start < latents.length; start += RUN_CHUNK) {
    const chunk = latents.slice(start, start + RUN_CHUNK);
    const flat = new Float32Array(chunk.length * g.latentDim);
    chunk.forEach((z, i) => flat.set(z, i * g.latentDim));
    const x = tf.tensor2d(flat, [chunk.length, g.latentDim], 'float32');
    let y: tf.Tensor | undefined;
    try {
      y = await model.run(x);
      if (y.size !== chunk.length * size) {
        throw new ManifestError(`the generator made ${y.size / chunk.length} values per latent, its card says ${g.width}×${g.height}×${g.channels}`, { url: 'generator', issues: ['output size mismatch'] });
      }
      const data = (await y.data()) as Float32Array;
      for (let i = 0; i < chunk.length; i++) out.push(data.slice(i * size, (i + 1) * size));
    } finally {
      x.dispose();
      y?.dispose();
    }
  }
  return out;
}

/** The pre-processing of the encoder's input: the generator's size and channels, pixels mapped from 0–255 to `encoderRange`. */
export function encoderPreprocess(g: GeneratorSpec): ImagePreprocess {
  const [lo, hi] = g.encoderRange;
  return { width: g.width, height: g.height, channels: g.channels, resize: 'bilinear', grayWeights: [0.299, 0.587, 0.114], scale: (hi - lo) / 255, mean: [-lo], std: [1], layout: 'nhwc' };
}

/** Encodes pictures as one encoder call: each is pre-processed alone (any size is resized), then stacked. */
export async function encodeImages(encoder: Runnable, g: GeneratorSpec, images: readonly RawPixels[]): Promise<Float32Array[]> {
  const p = encoderPreprocess(g);
  const inputs: tf.Tensor4D[] = [];
  try {
    for (const img of images) inputs.push(preprocess(img, p));
    const x = inputs.length === 1 ? (inputs[0] as tf.Tensor4D) : tf.concat(inputs, 0);
    let y: tf.Tensor | undefined;
    try {
      y = await encoder.run(x);
      if (y.size !== images.length * g.latentDim) {
        throw new ManifestError(`the encoder made ${y.size / images.length} values per picture, the card's latentDim is ${g.latentDim}`, { url: 'encoder', issues: ['encoder output size mismatch'] });
      }
      const data = (await y.data()) as Float32Array;
      return images.map((_, i) => data.slice(i * g.latentDim, (i + 1) * g.latentDim));
    } finally {
      if (x !== inputs[0]) x.dispose();
      y?.dispose();
    }
  } finally {
    inputs.forEach((t) => t.dispose());
  }
}

/** One call's latents, waiting for a run of the generator. */
interface LatentJob {
  readonly latents: readonly Float32Array[];
  readonly signal: AbortSignal;
  readonly op: string;
}

/** One call's decoded picture, waiting for a run of the encoder. */
interface EncodeJob {
  readonly pixels: RawPixels;
  readonly signal: AbortSignal;
}

/** Runs one call's job through a queue (or alone, batching off) and shapes its answer; each call fails on its own. */
async function settleEach<K extends OpName, J, R>(
  calls: readonly OpCall<K>[],
  prepare: (c: OpCall<K>) => Promise<J> | J,
  run: (jobs: J[]) => Promise<R>[],
  shape: (r: R, job: J, c: OpCall<K>) => Ops[K]['output'],
  op: string,
): Promise<Outcome<Ops[K]['output']>[]> {
  const prepared = await Promise.allSettled(calls.map(async (c) => prepare(c)));
  const jobs = prepared.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
  const runs = run(jobs);
  let next = 0;
  return Promise.all(
    prepared.map(async (p, i): Promise<Outcome<Ops[K]['output']>> => {
      try {
        if (p.status === 'rejected') throw p.reason;
        const r = await (runs[next++] as Promise<R>);
        const call = calls[i] as OpCall<K>;
        throwIfAborted(call.signal, op);
        return { ok: true, value: shape(r, p.value, call) };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
}

/** The operations of one loaded generator: its two batch queues and four operations. */
function generatorOps(current: () => GeneratorModel, manifest: Manifest, env: TaskEnv) {
  const g = generatorSpec(manifest);
  const count = (n: number): void => {
    const stats = env.stats;
    stats.batches++;
    stats.images += n;
    stats.largest = Math.max(stats.largest, n);
    stats.sizes[n] = (stats.sizes[n] ?? 0) + 1;
  };
  const runGen = async (jobs: readonly LatentJob[]): Promise<Outcome<Float32Array[]>[]> => {
    count(jobs.length);
    const raw = await env.run(() => runLatents(current().generator, g, jobs.flatMap((j) => j.latents)));
    let at = 0;
    return jobs.map((j) => {
      const value = raw.slice(at, at + j.latents.length);
      at += j.latents.length;
      return { ok: true, value };
    });
  };
  const runEnc = async (jobs: readonly EncodeJob[]): Promise<Outcome<Float32Array>[]> => {
    count(jobs.length);
    const encoded = await env.run(() => {
      const encoder = current().encoder;
      if (!encoder) throw noEncoder(manifest);
      return encodeImages(encoder, g, jobs.map((j) => j.pixels));
    });
    return encoded.map((value) => ({ ok: true, value }));
  };
  const batched = env.maxBatch > 1;
  const genQueue = batched ? new BatchQueue<LatentJob, Float32Array[]>(runGen, { maxBatch: env.maxBatch, cancelled: (j) => (j.signal.aborted ? abortError(j.signal, j.op) : undefined) }) : undefined;
  const encQueue = batched ? new BatchQueue<EncodeJob, Float32Array>(runEnc, { maxBatch: env.maxBatch, cancelled: (j) => (j.signal.aborted ? abortError(j.signal, 'encode') : undefined) }) : undefined;
  const alone = <J, R>(run: (jobs: J[]) => Promise<Outcome<R>[]>) => async (job: J): Promise<R> => {
    const [o] = await run([job]);
    if (!o) throw new ManifestError('the model run gave no outcome', { url: manifest.id, issues: ['no outcome'] });
    if (!o.ok) throw o.error;
    return o.value;
  };
  const gen = (jobs: LatentJob[], more: boolean): Promise<Float32Array[]>[] => (genQueue ? genQueue.pushAll(jobs, more) : jobs.map(alone(runGen)));
  const checked = (latents: unknown): Float32Array[] => {
    if (!Array.isArray(latents) || latents.length === 0 || latents.length > MAX_LATENTS) {
      throw new InvalidInputError(`latents must be an array of 1 to ${MAX_LATENTS} latent vectors`, { reason: 'bad-latents', field: 'latents' });
    }
    return latents.map((z, i) => checkLatent(z, g.latentDim, `latents[${i}]`));
  };
  return {
    'image-generation.generate': (calls: readonly OpCall<'image-generation.generate'>[], ctx: { readonly more: boolean }) => {
      env.stats.messages++;
      return settleEach(
        calls,
        (c) => ({ latents: sampleLatents(checkSeed(c.input.seed), checkCount(c.input.count), g.latentDim), signal: c.signal, op: 'generate' }),
        (jobs) => gen(jobs, ctx.more),
        (raw, job, c) => ({ images: toImages(raw, g), latents: job.latents, seed: c.input.seed }),
        'generate',
      );
    },
    'image-generation.decode': (calls: readonly OpCall<'image-generation.decode'>[], ctx: { readonly more: boolean }) => {
      env.stats.messages++;
      return settleEach(calls, (c) => ({ latents: checked(c.input.latents), signal: c.signal, op: 'decode' }), (jobs) => gen(jobs, ctx.more), (raw) => toImages(raw, g), 'decode');
    },
    'image-generation.raw': (calls: readonly OpCall<'image-generation.raw'>[]) =>
      settleEach(
        calls,
        (c) => {
          if (!env.debug) throw new InvalidInputError('raw outputs are a test hook (createClient({ debug: true }))', { reason: 'debug-only' });
          return { latents: checked(c.input.latents), signal: c.signal, op: 'raw' };
        },
        (jobs) => jobs.map(alone(runGen)),
        (raw) => raw,
        'raw',
      ),
    'image-generation.encode': (calls: readonly OpCall<'image-generation.encode'>[], ctx: { readonly more: boolean }) => {
      env.stats.messages++;
      return settleEach(
        calls,
        async (c) => {
          if (g.encoder === undefined) throw noEncoder(manifest);
          const pixels = await decodeImage(c.input.image, encoderPreprocess(g));
          throwIfAborted(c.signal, 'encode');
          return { pixels, signal: c.signal };
        },
        (jobs) => (encQueue ? encQueue.pushAll(jobs, ctx.more) : jobs.map(alone(runEnc))),
        (z) => z,
        'encode',
      );
    },
  };
}

function noEncoder(manifest: Manifest): InvalidInputError {
  return new InvalidInputError(`"${manifest.id}" is a ${manifest.generator?.kind ?? 'generator'} without an encoder: it cannot encode pictures`, { reason: 'no-encoder', field: 'image' });
}

/** One untimed run of each network on blank input, so the first call costs what the next ones do. */
async function warmUp(model: GeneratorModel): Promise<void> {
  const g = model.spec;
  await runLatents(model.generator, g, [new Float32Array(g.latentDim)]);
  if (model.encoder) await encodeImages(model.encoder, g, [{ data: new Uint8ClampedArray(g.width * g.height * 4), width: g.width, height: g.height, channels: 4 }]);
}

/**
 * The worker's row for `image-generation`.
 *
 * @example
 * const mounted = await imageGeneration.mount(files, env);
 * await mounted.ops['image-generation.generate']?.([{ callId: 1, input: { count: 2, seed: 7 }, signal }], { more: false, sink: undefined });
 * // [{ ok: true, value: { images: [{ width: 28, height: 28, data: Uint8ClampedArray(3136) }, …], latents: [Float32Array(16), …], seed: 7 } }]
 */
export const imageGeneration = defineTask<'image-generation', GeneratorModel>({
  task: 'image-generation',
  formats: ['tfjs-layers'],
  load: (files) => loadGenerator(files),
  warmUp: (model) => warmUp(model),
  dispose: (model) => {
    model.generator.dispose();
    model.encoder?.dispose();
  },
  describe: (model) => ({ runtime: `tfjs (${tf.getBackend()})`, generator: generatorInfo(model.spec) }),
  ops: (current, files, env) => generatorOps(current, files.manifest, env),
});
