/**
 * A decoder-only language model behind one small interface, whatever runs it: tfjs ops
 * (WebGPU, CPU) or webinfer's WebAssembly engine (WASM). The text-generation task samples,
 * streams and stops; a decoder only turns tokens into next-token logits.
 */

/** What every decoder knows of its model. */
export interface DecoderInfo {
  /** Positions the model can attend to (GPT-2: n_positions). */
  readonly contextLength: number;
  readonly vocabSize: number;
  /** Token that starts an empty prompt, if the model has one. */
  readonly bosTokenId?: number | null;
  /** What runs it, for `model.info` and the bench: e.g. 'engine (float32, 2 threads)' or 'tfjs (webgpu)'. */
  readonly runtime: string;
  /** Bytes the weights take as held (quantized weights count quantized). */
  readonly weightBytes: number;
}

/** One generation's state (its KV cache). Dispose it when the generation ends. */
export interface DecoderSession {
  /** Positions filled so far. */
  readonly length: number;
  /** Runs the next tokens and resolves to the logits of the last one (a copy the caller owns). */
  step(ids: readonly number[]): Promise<Float32Array>;
  /** Runs the next tokens and keeps no logits (a prompt's chunks before the last). */
  advance?(ids: readonly number[]): Promise<void>;
  dispose(): void;
}

export interface Decoder {
  readonly info: DecoderInfo;
  /** A session for a generation that will fill at most `capacity` positions. */
  session(capacity: number): DecoderSession;
  /** Recomputes the whole sequence and returns its last logits, without keeping a cache (the no-KV-cache baseline). */
  recompute(ids: readonly number[]): Promise<Float32Array>;
  dispose(): void;
}
