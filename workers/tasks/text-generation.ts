/**
 * Task `text-generation` (formats `gpt2-safetensors` and `llama-safetensors`: GPT-2, Llama, Qwen2,
 * Mistral): the model's own tokenizer (`tokenizer.json`) and chat template, a KV-cached decoder,
 * sampling, stop sequences, streaming in batches, cancellation within one token and a FIFO queue
 * per model.
 *
 * Context policy: a prompt of `n_positions` tokens or more is refused with
 * InvalidInputError (`reason: 'context-overflow'`); a generation that fills the
 * context ends with `finishReason: 'length'` (no sliding window: GPT-2's absolute
 * positions would need the whole prefix recomputed).
 */
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import type { Outcome } from '../../src/shared/settle.js';
import type { BackendName, ChatMessage, FinishReason, GenerateChunk, GenerateResult } from '../../src/shared/types.js';
import type { GenerateOptionsWire } from '../../src/shared/wire.js';
import type { DecoderSession } from '../decoders/decoder.js';
import { sampleToken, seededRandom } from '../gpt2/sampling.js';
import { TextStream } from '../gpt2/text-stream.js';
import { renderChat } from '../text/chat.js';
import { loadTextModel, type TextModel } from '../text/load.js';
import { FifoQueue } from '../queues/fifo-queue.js';
import { nextTask } from '../queues/next-task.js';
import { defineTask, type OpCall, type TaskEnv } from './task.js';

/** Receives streamed chunks, in batches. */
export type GenerateSink = (chunks: GenerateChunk[]) => void;

/** What a generation needs from the runtime: model work through the backend session, and its name. */
export type GenerationEnv = Pick<TaskEnv, 'run' | 'backend'>;


/**
 * Lets the worker's event loop run (abort requests, heartbeats, other calls) between
 * tokens: on WASM `data()` resolves in a microtask, so without this a generation would
 * hold the loop until it ends. `nextTask` is one `scheduler.postTask` hop (a few µs), not a
 * clamped setTimeout nor a new MessageChannel per token.
 */
const yieldToEventLoop = nextTask;

/** A loaded text-generation model (see `../text/load.ts`). */
export type TextGenerationModel = TextModel;

/** Builds a text model from its verified files (GPT-2 or Llama family; engine on WASM, tfjs elsewhere). */
export const loadTextGeneration = loadTextModel;

/**
 * One generation. Tokenizes and checks the prompt at once (a bad prompt fails before it
 * queues), waits its turn in `queue`, then streams chunks to `sink` in batches (the first
 * token at once, then every `flushTokens` tokens or `flushMs` ms) and returns the result after
 * the last batch was delivered. Frees its KV cache whatever happens.
 *
 * Every step runs through `env.run`: if the WebGPU device is lost mid-generation, the model is
 * rebuilt on the next backend and the generation goes on there, its cache recomputed from the
 * prompt and the tokens so far (same tokens; `result.backend` says where it ended).
 *
 * @example
 * await generate(() => lm, 'Once upon', checkGenerateOptions({ temperature: 0 }), signal, (chunks) => show(chunks), env, queue);
 * // { text: ' a time …', finishReason: 'length', promptTokens: 2, … }
 */
export async function generate(
  current: () => TextGenerationModel,
  prompt: string | readonly ChatMessage[],
  o: GenerateOptionsWire,
  signal: AbortSignal,
  sink: GenerateSink,
  env: GenerationEnv,
  queue: FifoQueue,
): Promise<GenerateResult> {
  const lm = current();
  const { decoder, tokenizer } = lm;
  const P = decoder.info.contextLength;
  // A conversation becomes the prompt its chat template makes (with its own special tokens).
  const chat = typeof prompt !== 'string';
  const text = chat ? renderChat(tokenizer, prompt, { addGenerationPrompt: true }) : prompt;
  // Bounded: a prompt that cannot leave room for one new token is refused, and one that surely
  // cannot (by its length alone) is refused before it is tokenized.
  let ids = tokenizer.encode(text, { limit: P - 1, addSpecialTokens: !chat && o.addSpecialTokens !== false, field: chat ? 'messages' : 'prompt' });
  if (ids.length === 0) {
    const start = decoder.info.bosTokenId ?? lm.eos[0];
    if (start === undefined || start === null) throw new InvalidInputError('the prompt is empty and the model has no bos_token_id to start from', { reason: 'empty-prompt', field: 'prompt' });
    ids = [start];
  }
  if (ids.length >= P) {
    throw new InvalidInputError(`the prompt is ${ids.length} tokens; this model's context is ${P}, leaving no room to generate`, { reason: 'context-overflow', field: 'prompt' });
  }
  const queuedAt = performance.now();
  const aborted = (): GenerateResult => ({ text: '', tokens: [], finishReason: 'abort', promptTokens: ids.length, messages: 0, ms: 0, queuedMs: performance.now() - queuedAt, backend: env.backend() });
  return queue.run(signal, () => run(current, ids, o, signal, sink, env, performance.now() - queuedAt), aborted);
}

async function run(
  current: () => TextGenerationModel,
  promptIds: number[],
  o: GenerateOptionsWire,
  signal: AbortSignal,
  sink: GenerateSink,
  env: GenerationEnv,
  queuedMs: number,
): Promise<GenerateResult> {
  let lm = current();
  const t0 = performance.now();
  const random = seededRandom(o.seed ?? Math.floor(Math.random() * 2 ** 32));
  const stream = new TextStream(o.stop);
  const budget = Math.min(o.maxTokens, lm.decoder.info.contextLength - promptIds.length);
  const capacity = promptIds.length + budget;
  let session: DecoderSession = lm.decoder.session(capacity);
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
  const all = [...promptIds];
  /** Logits of the next token: the new ids through the session (everything again after a backend switch, or without a cache). */
  const step = (input: readonly number[]): Promise<Float32Array> =>
    env.run(async () => {
      const now = current();
      let ids = input;
      if (now !== lm) {
        // The model was rebuilt on another backend: its old cache went with the old device.
        session.dispose();
        lm = now;
        session = lm.decoder.session(capacity);
        ids = all;
      }
      return o.useCache ? session.step(ids) : lm.decoder.recompute(all);
    });
  try {
    let input: readonly number[] = promptIds;
    for (let i = 0; i < budget; i++) {
      await yieldToEventLoop();
      if (signal.aborted) {
        finishReason = 'abort';
        break;
      }
      const values = await step(input);
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
      batch.push({ text: stream.push(lm.tokenizer.tokenBytes(next)), tokenId: next });
      if (stream.stopped) {
        finishReason = 'stop';
        break;
      }
      if (tokens.length === 1 || batch.length >= o.flushTokens || (o.flushMs > 0 && performance.now() - lastFlush >= o.flushMs)) flush();
      input = [next];
      all.push(next);
    }
  } finally {
    session.dispose();
  }
  const tail = stream.finish();
  if (tail) {
    // Text held back (a possible stop-sequence prefix) joins the last chunk; alone, it has tokenId -1.
    const last = batch.pop();
    batch.push(last ? { text: last.text + tail, tokenId: last.tokenId } : { text: tail, tokenId: -1 });
  }
  flush();
  await delivered;
  return { text: stream.text, tokens, finishReason, promptTokens: promptIds.length, messages, ms: performance.now() - t0, queuedMs, backend: env.backend() };
}

/** For tests and tools: the first-step logits of a prompt (no sampling). */
export async function firstLogits(lm: TextGenerationModel, ids: readonly number[]): Promise<Float32Array> {
  const session = lm.decoder.session(ids.length);
  try {
    return await session.step(ids);
  } finally {
    session.dispose();
  }
}

/** The outcome of a synchronous piece of work. */
function settleNow<R>(fn: () => R): Outcome<R> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The operations of one loaded text generator: its generation queue, `generate`, and the `logits` test hook. */
function generatorOps(current: () => TextGenerationModel, env: TaskEnv) {
  const queue = new FifoQueue();
  return {
    'text-generation.generate': async (
      calls: readonly OpCall<'text-generation.generate'>[],
      ctx: { readonly sink: ((chunks: GenerateChunk[]) => void) | undefined },
    ): Promise<Outcome<GenerateResult>[]> =>
      Promise.all(
        calls.map(async (c): Promise<Outcome<GenerateResult>> => {
          try {
            return { ok: true, value: await generate(current, c.input.prompt, c.input.options, c.signal, ctx.sink ?? (() => undefined), env, queue) };
          } catch (error) {
            return { ok: false, error };
          }
        }),
      ),
    'text-generation.tokenize': async (calls: readonly OpCall<'text-generation.tokenize'>[]): Promise<Outcome<number[]>[]> =>
      calls.map((c) => settleNow(() => current().tokenizer.encode(c.input.text, { addSpecialTokens: c.input.addSpecialTokens, field: 'text' }))),
    'text-generation.detokenize': async (calls: readonly OpCall<'text-generation.detokenize'>[]): Promise<Outcome<string>[]> =>
      calls.map((c) => settleNow(() => current().tokenizer.decode(c.input.ids, { keepSpecial: c.input.keepSpecial }))),
    'text-generation.chat-template': async (calls: readonly OpCall<'text-generation.chat-template'>[]): Promise<Outcome<string>[]> =>
      calls.map((c) => settleNow(() => renderChat(current().tokenizer, c.input.messages, { addGenerationPrompt: c.input.addGenerationPrompt }))),
    'text-generation.logits': async (calls: readonly OpCall<'text-generation.logits'>[]): Promise<Outcome<Float32Array>[]> =>
      Promise.all(
        calls.map(async (c): Promise<Outcome<Float32Array>> => {
          if (!env.debug) return { ok: true, value: new Float32Array(0) };
          try {
            return { ok: true, value: await env.run(() => firstLogits(current(), c.input.ids)) };
          } catch (error) {
            return { ok: false, error };
          }
        }),
      ),
  };
}

/**
 * The worker's row for `text-generation`.
 *
 * @example
 * const mounted = await textGeneration.mount(files, env);
 * await mounted.ops['text-generation.generate']?.([{ callId: 1, input: { prompt: 'Once upon', options }, signal }], { more: false, sink });
 */
export const textGeneration = defineTask<'text-generation', TextGenerationModel>({
  task: 'text-generation',
  formats: ['gpt2-safetensors', 'llama-safetensors'],
  // On WASM the model runs on webinfer's engine (it survives a tfjs backend switch); elsewhere on tfjs ops.
  load: async (files, env) => loadTextGeneration(files, env.backend() === 'wasm' && env.engine ? await env.engine() : undefined),
  portable: (model) => model.decoder.info.runtime.startsWith('engine'),
  describe: (model) => ({
    runtime: model.decoder.info.runtime,
    weightBytes: model.decoder.info.weightBytes,
    contextLength: model.decoder.info.contextLength,
    chatTemplate: model.tokenizer.chatTemplate !== undefined,
  }),
  // Tensor set-up happens on the first step; a generation's prefill is its own warm-up.
  warmUp: async () => undefined,
  dispose: (model) => model.dispose(),
  ops: (current, _files, env) => generatorOps(current, env),
});
