/**
 * Quantized variants of a text model (`gpt2-safetensors`), written by `publish --quantize`:
 * - `float16`: every float tensor as F16 (half the download; the worker computes in float32);
 * - `int8` / `int4`: the matrices of every block and the tied embedding/head as webinfer's
 *   group-wise symmetric panels (`webinfer/protocol` `quantizePanels`: one float32 scale per output
 *   column and group of `group` inputs), kept quantized in memory by the WASM engine; biases,
 *   norms and position embeddings stay float32.
 *
 * @example
 * const bytes = quantizeGpt2Safetensors(await readFile('model.safetensors'), 'int8');
 * // a safetensors file with `transformer.h.0.attn.c_attn.weight.wi_q8` + `.wi_scales`, …, and
 * // __metadata__ { 'webinfer.quantization': 'int8', 'webinfer.group': '64' }
 */
import { floatToHalfBits, parseSafetensors, quantizedBytes, quantizePanels, scaleCount, toFloat32, writeRawSafetensors, type MatrixLayout, type RawTensor } from 'webinfer/protocol';

/** What `--quantize` can write for a text model. */
export const TEXT_QUANTIZED_DTYPES = ['float16', 'int8', 'int4'] as const;
export type TextQuantizedDtype = (typeof TEXT_QUANTIZED_DTYPES)[number];

/** Default group sizes: int8 keeps perplexity within a fraction of a percent at 64; int4 needs 32. */
export const DEFAULT_GROUP = { int8: 64, int4: 32 } as const;

const MATRIX_RE = /(?:^|\.)h\.\d+\.(?:attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
const EMBEDDING_RE = /(?:^|\.)wte\.weight$/;

function isFloat(dtype: string): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/**
 * Writes the `dtype` variant of a GPT-2 safetensors file.
 * Throws a RangeError naming the tensor when a shape does not fit the group size.
 */
export function quantizeGpt2Safetensors(bytes: Uint8Array, dtype: TextQuantizedDtype, group = dtype === 'float16' ? 0 : DEFAULT_GROUP[dtype]): Uint8Array {
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
    const matrix = MATRIX_RE.test(name);
    const embedding = EMBEDDING_RE.test(name);
    if ((!matrix && !embedding) || t.shape.length !== 2) {
      out.push([name, t.dtype === 'F32' ? t : { dtype: 'F32', shape: t.shape, data: new Uint8Array(floatsOf(t).buffer) }]);
      continue;
    }
    // Conv1D weights are [in, out] (layout kn); the embedding [vocab, embd] is the head's [out, in] (nk).
    const layout: MatrixLayout = matrix ? 'kn' : 'nk';
    const [a, b] = t.shape as [number, number];
    const K = matrix ? a : b;
    const N = matrix ? b : a;
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
