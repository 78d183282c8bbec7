import { onAbort } from '../shared/abort.js';
import { WebInferError } from '../shared/errors/base.js';
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import type { GenerateChunk, GenerateResult } from '../shared/types.js';
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
 * A loaded GPT-2-family text generator. Get one from `client.load()`.
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
  generate(prompt: string, options: GenerateOptions = {}): GenerationStream {
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
   * Generates and returns the whole text.
   *
   * @example
   * await lm.generateText('Love is', { temperature: 0, maxTokens: 8 });
   * // { text: ' a …', tokens: [257, …], finishReason: 'length', promptTokens: 2, … }
   */
  generateText(prompt: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.#start(prompt, options, undefined, () => undefined);
  }

  async #start(prompt: string, options: GenerateOptions, local: AbortSignal | undefined, onChunks: (c: GenerateChunk[]) => void): Promise<GenerateResult> {
    this.assertLive();
    if (typeof prompt !== 'string') throw new InvalidInputError(`prompt must be a string, got ${typeof prompt}`, { reason: 'bad-prompt', field: 'prompt' });
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
