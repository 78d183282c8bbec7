/**
 * The engine's weight layout and webinfer's quantized weights, defined once: the worker packs
 * float weights into it at load time, the registry's publisher (`--quantize int8,int4` on a text
 * model) writes int8 / int4 variants in it, and both use these functions.
 *
 * A linear layer y = x·W + b has K inputs and N outputs. Its weights are stored in **panels** of
 * 8 output columns: panel p holds columns 8p…8p+7 for every k, `[ceil(N/8)][K][8]` (the last
 * panel padded with zeros). Quantized weights are symmetric, one float32 scale per column and
 * group of G consecutive k: `w ≈ q · scale`, with
 * - int8: q ∈ [-127, 127], one byte each, by pairs of k: `[P][K/2][8][2]` (column c's values for
 *   k and k+1 side by side, so that the engine multiplies them as int16 pairs);
 * - int4: q ∈ [-8, 7] stored as q + 8 in a nibble; the two k of a pair share a byte (row k in the
 *   low nibble, row k+1 in the high one), `[P][K/2][8]`;
 * - scales `[P][K/G][8]` float32.
 * In a safetensors file a quantized matrix `name` is the pair `name.wi_q8` (I8) or `name.wi_q4`
 * (U8, shape [P, K, 8] counting nibbles) and `name.wi_scales` (F32 [P, K/G, 8]), with
 * `__metadata__` `{ "webinfer.quantization": "int8" | "int4", "webinfer.group": "<G>" }`.
 */

/** Columns per panel. */
export const PANEL = 8;

/** How a source matrix is laid out: `kn` = row k holds the N outputs (GPT-2's Conv1D), `nk` = row n holds the K inputs (nn.Linear, an embedding used as the output head). */
export type MatrixLayout = 'kn' | 'nk';

/** Panels of a K×N matrix. */
export function panelCount(N: number): number {
  return Math.ceil(N / PANEL);
}

/** Elements of a panel-packed K×N float matrix (padding included). */
export function packedLength(K: number, N: number): number {
  return panelCount(N) * K * PANEL;
}

/**
 * Packs a float matrix into panels, reading it one row at a time through `row(i, out)` (which
 * fills `out` with source row i: K rows of N values for `kn`, N rows of K values for `nk`).
 *
 * @example
 * const out = new Float32Array(packedLength(2, 3));
 * packFloat((i, r) => r.set([[1, 2, 3], [4, 5, 6]][i]!), 'kn', 2, 3, out);
 * // out = [1,2,3,0,0,0,0,0, 4,5,6,0,0,0,0,0]
 */
export function packFloat(row: (i: number, out: Float32Array) => void, layout: MatrixLayout, K: number, N: number, out: Float32Array): void {
  out.fill(0);
  packFloatRows(row, layout, K, N, out, 0, layout === 'kn' ? K : N);
}

/**
 * Packs source rows [from, to) of a float matrix into `out` (which the caller zero-filled once):
 * a big matrix can be packed in slices, with pauses between them.
 */
export function packFloatRows(row: (i: number, out: Float32Array) => void, layout: MatrixLayout, K: number, N: number, out: Float32Array, from: number, to: number): void {
  if (layout === 'kn') {
    const r = new Float32Array(N);
    for (let k = from; k < to; k++) {
      row(k, r);
      for (let n = 0; n < N; n++) out[((n >> 3) * K + k) * PANEL + (n & 7)] = r[n] as number;
    }
  } else {
    const r = new Float32Array(K);
    for (let n = from; n < to; n++) {
      row(n, r);
      const base = (n >> 3) * K * PANEL + (n & 7);
      for (let k = 0; k < K; k++) out[base + k * PANEL] = r[k] as number;
    }
  }
}

/** Bytes of the quantized values of a K×N matrix. */
export function quantizedBytes(K: number, N: number, bits: 8 | 4): number {
  return panelCount(N) * K * PANEL * (bits === 8 ? 1 : 0.5);
}

/** Scales of a K×N matrix with groups of G. */
export function scaleCount(K: number, N: number, G: number): number {
  return panelCount(N) * (K / G) * PANEL;
}

/**
 * Quantizes a float matrix into panels: `q` gets the values (int8 bytes, or int4 pairs),
 * `scales` one float32 per column and group. K must be a multiple of G (and G even for int4).
 *
 * @example
 * const q = new Uint8Array(quantizedBytes(64, 8, 8)), s = new Float32Array(scaleCount(64, 8, 64));
 * quantizePanels((i, r) => r.set(weights.subarray(i * 8, i * 8 + 8)), 'kn', 64, 8, 8, 64, q, s);
 */
export function quantizePanels(row: (i: number, out: Float32Array) => void, layout: MatrixLayout, K: number, N: number, bits: 8 | 4, G: number, q: Uint8Array, scales: Float32Array): void {
  if (K % G !== 0) throw new RangeError(`K (${K}) is not a multiple of the group size ${G}`);
  if (G % 8 !== 0) throw new RangeError(`the group size must be a multiple of 8, got ${G}`);
  const qmax = bits === 8 ? 127 : 7;
  const groups = K / G;
  q.fill(bits === 8 ? 0 : 0x88);
  scales.fill(0);
  const put = (k: number, n: number, v: number): void => {
    const p = n >> 3;
    const c = n & 7;
    if (bits === 8) q[((p * (K >> 1) + (k >> 1)) * PANEL + c) * 2 + (k & 1)] = v & 0xff;
    else {
      const i = (p * (K >> 1) + (k >> 1)) * PANEL + c;
      const nib = (v + 8) & 15;
      q[i] = k & 1 ? ((q[i] as number) & 0x0f) | (nib << 4) : ((q[i] as number) & 0xf0) | nib;
    }
  };
  const quantizeColumnGroup = (values: Float32Array, vOff: number, vStride: number, n: number, g: number): void => {
    let max = 0;
    for (let j = 0; j < G; j++) max = Math.max(max, Math.abs(values[vOff + j * vStride] as number));
    const scale = max / qmax;
    scales[((n >> 3) * groups + g) * PANEL + (n & 7)] = scale;
    const inv = scale > 0 ? 1 / scale : 0;
    for (let j = 0; j < G; j++) {
      const v = Math.max(-qmax - (bits === 4 ? 1 : 0), Math.min(qmax, Math.round((values[vOff + j * vStride] as number) * inv)));
      put(g * G + j, n, v);
    }
  };
  if (layout === 'kn') {
    const block = new Float32Array(G * N);
    const r = new Float32Array(N);
    for (let g = 0; g < groups; g++) {
      for (let j = 0; j < G; j++) {
        row(g * G + j, r);
        block.set(r, j * N);
      }
      for (let n = 0; n < N; n++) quantizeColumnGroup(block, n, N, n, g);
    }
  } else {
    const r = new Float32Array(K);
    for (let n = 0; n < N; n++) {
      row(n, r);
      for (let g = 0; g < groups; g++) quantizeColumnGroup(r, g * G, 1, n, g);
    }
  }
}

/**
 * The float value of element (k, n) of a quantized panel matrix (tests, tools).
 *
 * @example
 * dequantizeAt(q, scales, 8, 64, 64, 0, 3); // ≈ W[0][3]
 */
export function dequantizeAt(q: Uint8Array, scales: Float32Array, bits: 8 | 4, K: number, G: number, k: number, n: number): number {
  const p = n >> 3;
  const c = n & 7;
  const s = scales[(p * (K / G) + Math.floor(k / G)) * PANEL + c] as number;
  if (bits === 8) {
    const b = q[((p * (K >> 1) + (k >> 1)) * PANEL + c) * 2 + (k & 1)] as number;
    return (b > 127 ? b - 256 : b) * s;
  }
  const b = q[(p * (K >> 1) + (k >> 1)) * PANEL + c] as number;
  return (((k & 1 ? b >> 4 : b & 15) as number) - 8) * s;
}
