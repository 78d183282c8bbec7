/**
 * Task `text-generation`: GPT-2-family models (`gpt2-safetensors`) with a byte-level
 * BPE tokenizer, a KV-cached decoder, sampling, stop sequences, streaming in batches,
 * cancellation within one token and a FIFO queue per model.
 *
 * Context policy: a prompt of `n_positions` tokens or more is refused with
 * InvalidInputError (`reason: 'context-overflow'`); a generation that fills the
 * context ends with `finishReason: 'length'` (no sliding window: GPT-2's absolute
 * positions would need the whole prefix recomputed).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { eosIds, parseGpt2Config } from '../gpt2/config.js';
import { Gpt2Model, KvCache } from '../gpt2/model.js';
import { readSafetensors } from '../gpt2/safetensors.js';
import { sampleToken, seededRandom } from '../gpt2/sampling.js';
import { TextStream } from '../gpt2/text-stream.js';
import { Gpt2Tokenizer } from '../gpt2/tokenizer.js';
import { nextTask } from '../batch-queue.js';
import type { LoadedFiles } from '../loader.js';
import type { BackendName, FinishReason, GenerateChunk, GenerateOptionsWire, GenerateResult, GenerateSink } from '../../src/shared/wire.js';

const CHUNK_RE = /^model\.safetensors\.part-\d+-of-\d+$/;

/** Runs one job at a time, first come first served; a job aborted while waiting leaves at once. */
export class FifoQueue {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(signal: AbortSignal, job: () => Promise<T>, whenAborted: () => T): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.#tail = prev.then(() => mine);
    let onAbort: (() => void) | undefined;
    try {
      const aborted = await Promise.race([
        prev.then(() => false),
        new Promise<boolean>((resolve) => {
          onAbort = () => resolve(true);
          if (signal.aborted) resolve(true);
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      if (aborted) return whenAborted();
      return await job();
    } finally {
      release();
    }
  }
}

/**
 * Lets the worker's event loop run (abort requests, heartbeats, other calls) between
 * tokens: on WASM `data()` resolves in a microtask, so without this a generation would
 * hold the loop until it ends. `nextTask` is one `scheduler.postTask` hop (a few µs), not a
 * clamped setTimeout nor a new MessageChannel per token.
 */
const yieldToEventLoop = nextTask;

/** A loaded text-generation model. */
export interface TextGenerationModel {
  readonly model: Gpt2Model;
  readonly tokenizer: Gpt2Tokenizer;
  readonly eos: readonly number[];
  readonly queue: FifoQueue;
  dispose(): void;
}

/** Builds the model from its verified files (`config.json`, `tokenizer.json`, `model.safetensors` or its chunks in order). */
export function loadTextGeneration(loaded: LoadedFiles): TextGenerationModel {
  const { manifest } = loaded;
  const where = `${manifest.id}@${manifest.version}`;
  const text = (name: string): string => {
    const b = loaded.files.get(name);
    if (!b) throw new ManifestError(`${where}: ${name} is missing from the manifest`, { url: where, issues: [`missing ${name}`] });
    return new TextDecoder().decode(b);
  };
  const config = parseGpt2Config(text('config.json'), `${where}/config.json`);
  const tokenizer = Gpt2Tokenizer.fromJson(text('tokenizer.json'), `${where}/tokenizer.json`);
  const variant = manifest.variants[loaded.dtype] ?? manifest.variants.float32;
  const whole = loaded.files.get('model.safetensors');
  const chunks = whole ? [whole] : variant.files.filter((f) => CHUNK_RE.test(f.path)).map((f) => loaded.files.get(f.path) as Uint8Array);
  if (chunks.length === 0) throw new ManifestError(`${where}: model.safetensors is missing`, { url: where, issues: ['missing model.safetensors'] });
  const model = Gpt2Model.fromTensors(config, readSafetensors(chunks, `${where}/model.safetensors`), `${where}/model.safetensors`);
  if (tokenizer.size > config.vocab_size) {
    model.dispose();
    throw new ManifestError(`${where}: tokenizer has ${tokenizer.size} tokens but vocab_size is ${config.vocab_size}`, { url: where, issues: ['vocab size'] });
  }
  return { model, tokenizer, eos: eosIds(config), queue: new FifoQueue(), dispose: () => model.dispose() };
}

/**
 * One generation. Streams chunks to `sink` in batches (the first token at once, then
 * every `flushTokens` tokens or `flushMs` ms) and returns the result after the last
 * batch was delivered. Frees its KV cache whatever happens.
 */
export async function generate(
  lm: TextGenerationModel,
  prompt: string,
  o: GenerateOptionsWire,
  signal: AbortSignal,
  sink: GenerateSink,
  backend: () => BackendName,
): Promise<GenerateResult> {
  const { model, tokenizer } = lm;
  const P = model.config.n_positions;
  let ids = tokenizer.encode(prompt);
  if (ids.length === 0) {
    const start = model.config.bos_token_id ?? lm.eos[0];
    if (start === undefined || start === null) throw new InvalidInputError('the prompt is empty and the model has no bos_token_id to start from', { reason: 'empty-prompt', field: 'prompt' });
    ids = [start];
  }
  if (ids.length >= P) {
    throw new InvalidInputError(`the prompt is ${ids.length} tokens; this model's context is ${P} (n_positions), leaving no room to generate`, { reason: 'context-overflow', field: 'prompt' });
  }
  const queuedAt = performance.now();
  const aborted = (): GenerateResult => ({ text: '', tokens: [], finishReason: 'abort', promptTokens: ids.length, messages: 0, ms: 0, queuedMs: performance.now() - queuedAt, backend: backend() });
  return lm.queue.run(signal, () => run(lm, ids, o, signal, sink, backend, performance.now() - queuedAt), aborted);
}

async function run(
  lm: TextGenerationModel,
  promptIds: number[],
  o: GenerateOptionsWire,
  signal: AbortSignal,
  sink: GenerateSink,
  backend: () => BackendName,
  queuedMs: number,
): Promise<GenerateResult> {
  const { model, tokenizer } = lm;
  const t0 = performance.now();
  const random = seededRandom(o.seed ?? Math.floor(Math.random() * 2 ** 32));
  const stream = new TextStream(o.stop);
  const cache = new KvCache(model.config.n_layer);
  const tokens: number[] = [];
  let batch: GenerateChunk[] = [];
  let messages = 0;
  let lastFlush = performance.now();
  let delivered: Promise<unknown> = Promise.resolve();
  const flush = (): void => {
    if (batch.length === 0) return;
    const out = batch;
    batch = [];
    messages++;
    lastFlush = performance.now();
    // Not awaited: the worker keeps generating; comlink keeps the order on the sink's port.
    delivered = Promise.resolve(sink(out)).catch(() => undefined);
  };
  let finishReason: FinishReason = 'length';
  const budget = Math.min(o.maxTokens, model.config.n_positions - promptIds.length);
  try {
    let input = promptIds;
    const all = [...promptIds];
    for (let i = 0; i < budget; i++) {
      await yieldToEventLoop();
      if (signal.aborted) {
        finishReason = 'abort';
        break;
      }
      const logits = o.useCache ? model.step(input, cache) : stepWithoutCache(model, all);
      let values: Float32Array;
      try {
        values = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
      if (signal.aborted) {
        finishReason = 'abort';
        break;
      }
      const next = sampleToken(values, o, random);
      if (o.stopAtEos && lm.eos.includes(next)) {
        finishReason = 'eos';
        break;
      }
      tokens.push(next);
      batch.push({ text: stream.push(tokenizer.tokenBytes(next)), tokenId: next });
      if (stream.stopped) {
        finishReason = 'stop';
        break;
      }
      if (tokens.length === 1 || batch.length >= o.flushTokens || (o.flushMs > 0 && performance.now() - lastFlush >= o.flushMs)) flush();
      input = [next];
      all.push(next);
    }
  } finally {
    cache.dispose();
  }
  const tail = stream.finish();
  if (tail) {
    // Text held back (a possible stop-sequence prefix) joins the last chunk; alone, it has tokenId -1.
    const last = batch.pop();
    batch.push(last ? { text: last.text + tail, tokenId: last.tokenId } : { text: tail, tokenId: -1 });
  }
  flush();
  await delivered;
  return { text: stream.text, tokens, finishReason, promptTokens: promptIds.length, messages, ms: performance.now() - t0, queuedMs, backend: backend() };
}

/** No KV cache: the whole sequence through the model, last position's logits (a fresh cache, freed at once). */
function stepWithoutCache(model: TextGenerationModel['model'], ids: readonly number[]): tf.Tensor1D {
  const fresh = new KvCache(model.config.n_layer);
  try {
    return model.step(ids, fresh);
  } finally {
    fresh.dispose();
  }
}

/** For tests and tools: the first-step logits of a prompt (no sampling). */
export async function firstLogits(lm: TextGenerationModel, ids: number[]): Promise<Float32Array> {
  const cache = new KvCache(lm.model.config.n_layer);
  try {
    const t = lm.model.step(ids, cache);
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  } finally {
    cache.dispose();
  }
}
