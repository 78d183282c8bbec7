/**
 * Quantized variants of a text model (`gpt2-safetensors`, `llama-safetensors`), written by
 * `publish --quantize`:
 * - `float16`: every float tensor as F16 (half the download; the worker computes in float32);
 * - `int8` / `int4`: the matrices of every block, the embedding and the head as webinfer's
 *   group-wise symmetric panels (`webinfer/protocol` `quantizePanels`: one float32 scale per output
 *   column and group of `group` inputs), kept quantized in memory by the WASM engine; biases,
 *   norms and position embeddings stay float32.
 *
 * The family is known from the tensor names: GPT-2's Conv1D matrices (`h.{i}.attn.c_attn.weight`,
 * [in, out]) or Llama's nn.Linear ones (`layers.{i}.self_attn.q_proj.weight`, … `mlp.down_proj.weight`,
 * [out, in]; Qwen2 and Mistral name them the same).
 *
 * @example
 * const bytes = quantizeTextSafetensors(await readFile('model.safetensors'), 'int8');
 * // a safetensors file with `transformer.h.0.attn.c_attn.weight.wi_q8` + `.wi_scales`, …, and
 * // __metadata__ { 'webinfer.quantization': 'int8', 'webinfer.group': '64' }
 */
import { floatToHalfBits, parseSafetensors, quantizedBytes, quantizePanels, scaleCount, toFloat32, writeRawSafetensors, type MatrixLayout, type RawTensor } from 'webinfer/protocol';

/** What `--quantize` can write for a text model. */
export const TEXT_QUANTIZED_DTYPES = ['float16', 'int8', 'int4'] as const;
export type TextQuantizedDtype = (typeof TEXT_QUANTIZED_DTYPES)[number];

/** Default group sizes: int8 keeps perplexity within a fraction of a percent at 64; int4 needs 32. */
export const DEFAULT_GROUP = { int8: 64, int4: 32 } as const;

/** GPT-2's block matrices, Conv1D [in, out] (layout kn). */
const GPT2_MATRIX_RE = /(?:^|\.)h\.\d+\.(?:attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Llama-family block matrices, nn.Linear [out, in] (layout nk). */
const LLAMA_MATRIX_RE = /(?:^|\.)layers\.\d+\.(?:self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.weight$/;
/** Embeddings and heads, [vocab, embd] (layout nk). */
const EMBEDDING_RE = /(?:^|\.)(?:wte|embed_tokens)\.weight$|^lm_head\.weight$/;

/** Which layout a tensor is quantized in, or undefined if it stays float. */
function layoutOf(name: string): MatrixLayout | undefined {
  if (GPT2_MATRIX_RE.test(name)) return 'kn';
  if (LLAMA_MATRIX_RE.test(name) || EMBEDDING_RE.test(name)) return 'nk';
  return undefined;
}

/** The inputs (K) of every matrix the quantizer would quantize in a safetensors file. */
export function quantizedWidths(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (const [name, t] of parseSafetensors(bytes).tensors) {
    const layout = layoutOf(name);
    if (layout && t.shape.length === 2 && isFloat(t.dtype)) out.push(layout === 'kn' ? (t.shape[0] as number) : (t.shape[1] as number));
  }
  return out;
}

/**
 * The group size for int8/int4: the default (64 / 32), halved until it divides every matrix's
 * inputs, never below 8 (the engine's smallest). A model with a width that is not a multiple of 8
 * cannot be quantized.
 */
export function groupFor(dtype: 'int8' | 'int4', widths: readonly number[]): number {
  for (let g: number = DEFAULT_GROUP[dtype]; g >= 8; g /= 2) if (widths.every((k) => k % g === 0)) return g;
  throw new RangeError(`a matrix width (${widths.filter((k) => k % 8 !== 0).join(', ')}) is not a multiple of 8: cannot quantize to ${dtype}`);
}

function isFloat(dtype: string): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/**
 * Writes the `dtype` variant of a text model's safetensors file (one shard of it, given the group
 * chosen for all shards). Throws a RangeError naming the tensor when a shape does not fit the group.
 */
export function quantizeTextSafetensors(bytes: Uint8Array, dtype: TextQuantizedDtype, group = dtype === 'float16' ? 0 : groupFor(dtype, quantizedWidths(bytes))): Uint8Array {
  const { tensors, metadata } = parseSafetensors(bytes);
  if (metadata['webinfer.quantization']) throw new RangeError(`the weights are already ${metadata['webinfer.quantization']}: quantize the float32 file`);
  const out: Array<[string, RawTensor]> = [];
  const floatsOf = (t: RawTensor): Float32Array => toFloat32(t.data, t.dtype, new Float32Array(t.shape.reduce((a, b) => a * b, 1)));
  for (const [name, t] of tensors) {
    if (!isFloat(t.dtype)) {
      out.push([name, t]);
      continue;
    }
    if (dtype === 'float16') {
      const f = floatsOf(t);
      const h = new Uint16Array(f.length);
      for (let i = 0; i < f.length; i++) h[i] = floatToHalfBits(f[i] as number);
      out.push([name, { dtype: 'F16', shape: t.shape, data: new Uint8Array(h.buffer) }]);
      continue;
    }
    const layout = layoutOf(name);
    if (layout === undefined || t.shape.length !== 2) {
      out.push([name, t.dtype === 'F32' ? t : { dtype: 'F32', shape: t.shape, data: new Uint8Array(floatsOf(t).buffer) }]);
      continue;
    }
    // Conv1D weights are [in, out] (layout kn); nn.Linear weights and embeddings are [out, in] (nk).
    const [a, b] = t.shape as [number, number];
    const K = layout === 'kn' ? a : b;
    const N = layout === 'kn' ? b : a;
    if (K % group !== 0) throw new RangeError(`${name}: ${K} inputs are not a multiple of the group size ${group}`);
    const f = floatsOf(t);
    const rowLen = layout === 'kn' ? N : K;
    const bits = dtype === 'int8' ? 8 : 4;
    const q = new Uint8Array(quantizedBytes(K, N, bits));
    const s = new Float32Array(scaleCount(K, N, group));
    quantizePanels((i, r) => r.set(f.subarray(i * rowLen, (i + 1) * rowLen)), layout, K, N, bits, group, q, s);
    const panels = Math.ceil(N / 8);
    out.push([`${name}.${bits === 8 ? 'wi_q8' : 'wi_q4'}`, { dtype: bits === 8 ? 'I8' : 'U8', shape: [panels, K, 8], data: q }]);
    out.push([`${name}.wi_scales`, { dtype: 'F32', shape: [panels, K / group, 8], data: new Uint8Array(s.buffer) }]);
  }
  const meta: Record<string, string> = { ...metadata };
  if (dtype !== 'float16') {
    meta['webinfer.quantization'] = dtype;
    meta['webinfer.group'] = String(group);
  }
  return writeRawSafetensors(out, meta);
}
