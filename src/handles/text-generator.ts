import { onAbort } from '../shared/abort.js';
import { WebInferError } from '../shared/errors/base.js';
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import { checkMessages } from '../shared/chat.js';
import type { ChatMessage, GenerateChunk, GenerateResult } from '../shared/types.js';
import type { Ops } from '../shared/wire.js';
import { callOp, newCallId } from '../worker-host.js';
import { ModelHandle } from './handle.js';
import { checkGenerateOptions, type GenerateOptions } from './generate-options.js';

/**
 * A running generation: iterate it for chunks as they stream in (`for await`), and/or
 * await `result` for the whole text and why it ended. Leaving the loop early
 * (`break`) stops the generation in the worker.
 */
export interface GenerationStream extends AsyncIterable<GenerateChunk> {
  readonly result: Promise<GenerateResult>;
}

/**
 * A loaded text generator (GPT-2, Llama, Qwen2, Mistral families). Get one from `client.load()`.
 *
 * A prompt is a string, or — for chat models (`info.chatTemplate`) — a conversation, rendered with
 * the model's own chat template. `tokenize()`, `detokenize()` and `countTokens()` use the model's
 * tokenizer (in the worker, like everything else).
 *
 * Generations on one model run one at a time, first come first served, each with its
 * own KV cache. Tokens stream from the worker in batches (the first at once, then
 * every `streamTokens` tokens or `streamMs` ms), not one message per token.
 *
 * @example
 * const lm = await client.load('tiny-gpt@stable', { task: 'text-generation' });
 * for await (const chunk of lm.generate('Once upon', { maxTokens: 40, temperature: 0.8, topK: 40, seed: 7 })) {
 *   output.textContent += chunk.text; // ' a time, there was …'
 * }
 * const { text, finishReason } = await lm.generateText('Q: Why?\nA:', { temperature: 0, stop: ['\n'] }); // finishReason: 'stop'
 * const reply = await lm.generateText([{ role: 'user', content: 'Hello!' }], { maxTokens: 64 }); // a chat model
 */
export class TextGenerator extends ModelHandle<'text-generation'> {
  readonly task = 'text-generation' as const;

  /**
   * Starts a generation and streams it.
   *
   * @example
   * const stop = new AbortController();
   * for await (const { text } of lm.generate('Once upon', { maxTokens: 200, signal: stop.signal })) console.log(text);
   */
  generate(prompt: string | readonly ChatMessage[], options: GenerateOptions = {}): GenerationStream {
    const queue: GenerateChunk[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const local = new AbortController();
    const result = this.#start(prompt, options, local.signal, (chunks) => {
      queue.push(...chunks);
      wake?.();
    });
    result.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      done = true;
      wake?.();
    });
    return {
      result,
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            while (queue.length > 0) yield queue.shift() as GenerateChunk;
            if (done) break;
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
          }
          await result; // surfaces an error
        } finally {
          if (!done) local.abort(); // the consumer left early
        }
      },
    };
  }

  /**
   * Continues a conversation: renders `messages` with the model's chat template (in the worker, with
   * `@huggingface/jinja`, as `transformers`' `apply_chat_template` does, generation prompt added) and
   * streams the reply like `generate()`. The same as `generate(messages, options)`, named for reading.
   * A model without a template rejects with `InvalidInputError` (reason `no-chat-template`); messages
   * that are not `{ role, content }` strings with reason `bad-messages`; a template that raises
   * (e.g. roles out of order) with reason `chat-template`.
   *
   * @example
   * const history = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name a colour.' }];
   * const reply = lm.chat(history, { maxTokens: 32 });
   * for await (const { text } of reply) out.textContent += text;
   * history.push({ role: 'assistant', content: (await reply.result).text });
   */
  chat(messages: readonly ChatMessage[], options: GenerateOptions = {}): GenerationStream {
    if (!Array.isArray(messages)) {
      const result = Promise.reject(new InvalidInputError('chat() takes an array of { role, content } messages', { reason: 'bad-messages' }));
      result.catch(() => undefined);
      return { result, [Symbol.asyncIterator]: async function* () { await result; } };
    }
    return this.generate(messages, options);
  }

  /**
   * Generates and returns the whole text.
   *
   * @example
   * await lm.generateText('Love is', { temperature: 0, maxTokens: 8 });
   * // { text: ' a …', tokens: [257, …], finishReason: 'length', promptTokens: 2, … }
   */
  generateText(prompt: string | readonly ChatMessage[], options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.#start(prompt, options, undefined, () => undefined);
  }

  async #start(prompt: string | readonly ChatMessage[], options: GenerateOptions, local: AbortSignal | undefined, onChunks: (c: GenerateChunk[]) => void): Promise<GenerateResult> {
    this.assertLive();
    if (Array.isArray(prompt)) prompt = checkMessages(prompt).map((m) => ({ role: m.role, content: m.content }));
    else if (typeof prompt !== 'string') throw new InvalidInputError(`prompt must be a string or an array of chat messages, got ${typeof prompt}`, { reason: 'bad-prompt', field: 'prompt' });
    const wire = checkGenerateOptions(options);
    const callId = newCallId();
    const signals = [options.signal, local].filter((s): s is AbortSignal => s !== undefined);
    let remoteAbort: (() => void) | undefined;
    const stops = signals.map((s) => onAbort(s, () => remoteAbort?.()));
    try {
      // The caller's signal is not given to host.call: an abort ends the generation in the
      // worker within one token, which then resolves with finishReason 'abort' and the text so far.
      return await this.call(
        async (remote) => {
          remoteAbort = () => void remote.abort(callId).catch(() => undefined);
          const p = callOp(remote, { op: 'text-generation.generate', handle: this.handle, items: [{ callId, input: { prompt, options: wire } }], more: false }, onChunks);
          if (signals.some((s) => s.aborted)) remoteAbort();
          return firstValue(await p);
        },
        { timeoutMs: options.timeoutMs, callId, operation: 'generate' },
      );
    } finally {
      stops.forEach((stop) => stop());
    }
  }

  /**
   * Text → the model's token ids. With `addSpecialTokens` (default true) the tokenizer adds what it
   * adds to a prompt (e.g. Llama's `<s>`); special tokens written in the text are recognised.
   *
   * @example
   * await lm.tokenize('Hello world'); // [15496, 995] (GPT-2)
   */
  tokenize(text: string, options: { readonly addSpecialTokens?: boolean } = {}): Promise<number[]> {
    this.assertLive();
    if (typeof text !== 'string') return Promise.reject(new InvalidInputError(`text must be a string, got ${typeof text}`, { reason: 'bad-text', field: 'text' }));
    if (options.addSpecialTokens !== undefined && typeof options.addSpecialTokens !== 'boolean') {
      return Promise.reject(new InvalidInputError('addSpecialTokens must be a boolean', { reason: 'bad-option', field: 'addSpecialTokens' }));
    }
    return this.#one('text-generation.tokenize', { text, addSpecialTokens: options.addSpecialTokens !== false }, 'tokenize');
  }

  /**
   * Token ids → text. Special tokens (`<s>`, `<|im_end|>`, …) are left out unless `keepSpecial`.
   * An id outside the vocabulary is an InvalidInputError.
   *
   * @example
   * await lm.detokenize([15496, 995]); // 'Hello world'
   */
  detokenize(ids: readonly number[], options: { readonly keepSpecial?: boolean } = {}): Promise<string> {
    this.assertLive();
    if (!Array.isArray(ids) || ids.some((id) => !Number.isInteger(id) || id < 0)) {
      return Promise.reject(new InvalidInputError('ids must be an array of non-negative integers', { reason: 'bad-token', field: 'ids' }));
    }
    return this.#one('text-generation.detokenize', { ids: [...ids], keepSpecial: options.keepSpecial === true }, 'detokenize');
  }

  /**
   * How many tokens a prompt takes (as `generate()` would count it: a conversation through the
   * chat template, a string with the tokenizer's special tokens).
   *
   * @example
   * const n = await lm.countTokens(prompt);
   * if (n + 64 > lm.info.contextLength!) prompt = shorten(prompt);
   */
  async countTokens(prompt: string | readonly ChatMessage[]): Promise<number> {
    if (Array.isArray(prompt)) return (await this.tokenize(await this.applyChatTemplate(prompt), { addSpecialTokens: false })).length;
    return (await this.tokenize(prompt as string)).length;
  }

  /**
   * The prompt text the model's chat template makes of a conversation (what `generate(messages)`
   * runs). A model without a template fails with InvalidInputError `no-chat-template`; a
   * conversation its template refuses (e.g. roles that do not alternate) with `chat-template`.
   *
   * @example
   * await lm.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
   * // '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: { readonly addGenerationPrompt?: boolean } = {}): Promise<string> {
    this.assertLive();
    let list: ChatMessage[];
    try {
      list = checkMessages(messages).map((m) => ({ role: m.role, content: m.content }));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#one('text-generation.chat-template', { messages: list, addGenerationPrompt: options.addGenerationPrompt !== false }, 'chat-template');
  }

  #one<K extends 'text-generation.tokenize' | 'text-generation.detokenize' | 'text-generation.chat-template'>(op: K, input: Ops[K]['input'], operation: string): Promise<Ops[K]['output']> {
    return this.call(async (remote) => firstValue(await callOp(remote, { op, handle: this.handle, items: [{ callId: newCallId(), input }], more: false })), { operation, timeoutMs: 30_000 });
  }

  /** @internal Test hook (needs `debug: true`): first-step logits of token ids. */
  debugLogits(ids: number[]): Promise<Float32Array> {
    return this.call(
      async (remote) => firstValue(await callOp(remote, { op: 'text-generation.logits', handle: this.handle, items: [{ callId: newCallId(), input: { ids } }], more: false })),
      { operation: 'debug', timeoutMs: 60_000 },
    );
  }
}

/** The one outcome of a one-call message: its value, or its error thrown (and revived as ours by the host). */
function firstValue<R>(res: { readonly outcomes: readonly ({ readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown })[] }): R {
  const o = res.outcomes[0];
  if (!o) throw new WebInferError('the worker answered no outcome');
  if (!o.ok) throw o.error;
  return o.value;
}
