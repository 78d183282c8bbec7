/**
 * Quantized variants of a TensorFlow.js model, written in the weights-manifest format
 * tfjs-core dequantizes on load (`quantization: { dtype: 'float16' }` or
 * `{ dtype: 'uint8', scale, min }` per weight). Node only; no tfjs needed.
 *
 * Only float32 weights are quantized; other weights (int32, already quantized ones)
 * are copied unchanged.
 *
 * @example
 * const q = quantizeModel(modelJson, weightBytes, 'uint8', 'model');
 * q.files; // [{ path: 'model.uint8.json', bytes }, { path: 'model.uint8.bin', bytes }] — ~¼ of the float32 bytes
 */

/**
 * The quantized dtypes publish can write.
 *
 * @example
 * QUANTIZED_DTYPES;   // ['float16', 'uint8']
 */
export const QUANTIZED_DTYPES = ['float16', 'uint8'] as const;
/**
 * A dtype {@link quantizeModel} writes.
 *
 * @example
 * const dtype: QuantizedDtype = 'float16';
 */
export type QuantizedDtype = (typeof QUANTIZED_DTYPES)[number];

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
  [k: string]: unknown;
}
interface WeightGroup {
  paths: string[];
  weights: WeightEntry[];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 float32 → float16 bits, rounding to nearest even (overflow → ±Infinity). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is correct rounding
  return sign | h;
}

/** float16 bits → number (for tests and checks). */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Bytes one stored element takes. */
function elementBytes(w: WeightEntry): number {
  const q = w.quantization?.dtype;
  if (q === 'uint8') return 1;
  if (q === 'uint16' || q === 'float16') return 2;
  if (w.dtype === 'float32' || w.dtype === 'int32') return 4;
  if (w.dtype === 'bool') return 1;
  throw new Error(`weight ${w.name}: dtype ${w.dtype} cannot be quantized by webinfer`);
}

/**
 * Affine uint8 parameters of one tensor, as tfjs reads them: `value = q * scale + min`.
 * `min` is nudged so that 0 is exactly representable (zero weights stay zero).
 */
export function uint8Params(values: Float32Array): { scale: number; min: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (hi === lo) return { scale: 1, min: lo };
  const scale = (hi - lo) / 255;
  const zero = Math.round(-lo / scale);
  return { scale, min: -zero * scale };
}

export interface QuantizedModel {
  /** The model JSON, then its single weights file; paths are siblings of the original entry. */
  files: Array<{ path: string; bytes: Uint8Array }>;
  /** Largest absolute error of a dequantized weight. */
  maxError: number;
  /** How many float32 weights were quantized (0: the weights were already quantized, or not float). */
  converted: number;
}

/**
 * Rewrites a tfjs model (its JSON and the concatenation of its weight shards, in manifest
 * order) with every float32 weight quantized to `dtype`, as one new shard.
 *
 * @param stem file name stem of the outputs, e.g. `model` → `model.uint8.json`, `model.uint8.bin`
 *
 * @example
 * const q = quantizeModel(modelJson, weights, 'uint8', 'model');
 * q.files.map((f) => f.path);   // ['model.uint8.json', 'model.uint8.bin']
 */
export function quantizeModel(modelJson: Record<string, unknown>, weights: Uint8Array, dtype: QuantizedDtype, stem: string): QuantizedModel {
  const groups = modelJson['weightsManifest'] as WeightGroup[] | undefined;
  if (!Array.isArray(groups)) throw new Error('model JSON has no weightsManifest');
  const out: Uint8Array[] = [];
  const entries: WeightEntry[] = [];
  let offset = 0;
  let maxError = 0;
  let converted = 0;
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  for (const g of groups) {
    for (const w of g.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const bytes = n * elementBytes(w);
      if (offset + bytes > weights.byteLength) throw new Error(`weights end before ${w.name} (need ${offset + bytes} bytes, have ${weights.byteLength})`);
      if (w.dtype !== 'float32' || w.quantization) {
        out.push(weights.slice(offset, offset + bytes));
        entries.push({ ...w });
        offset += bytes;
        continue;
      }
      converted++;
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(offset + 4 * i, true);
      offset += bytes;
      if (dtype === 'float16') {
        const q = new Uint8Array(2 * n);
        const qv = new DataView(q.buffer);
        for (let i = 0; i < n; i++) {
          const h = toFloat16Bits(values[i]!);
          qv.setUint16(2 * i, h, true);
          if (Number.isFinite(values[i]!)) maxError = Math.max(maxError, Math.abs(fromFloat16Bits(h) - values[i]!));
        }
        out.push(q);
        entries.push({ ...w, quantization: { dtype: 'float16' } });
      } else {
        const { scale, min } = uint8Params(values);
        const q = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const v = Math.min(255, Math.max(0, Math.round((values[i]! - min) / scale)));
          q[i] = v;
          maxError = Math.max(maxError, Math.abs(v * scale + min - values[i]!));
        }
        out.push(q);
        entries.push({ ...w, quantization: { dtype: 'uint8', scale, min } });
      }
    }
  }
  if (offset !== weights.byteLength) throw new Error(`weightsManifest describes ${offset} bytes but the shards hold ${weights.byteLength}`);
  const bin = new Uint8Array(out.reduce((s, b) => s + b.byteLength, 0));
  let o = 0;
  for (const b of out) {
    bin.set(b, o);
    o += b.byteLength;
  }
  const binName = `${stem}.${dtype}.bin`;
  const json = { ...modelJson, weightsManifest: [{ paths: [binName], weights: entries }] };
  return {
    files: [
      { path: `${stem}.${dtype}.json`, bytes: new TextEncoder().encode(JSON.stringify(json)) },
      { path: binName, bytes: bin },
    ],
    maxError,
    converted,
  };
}
