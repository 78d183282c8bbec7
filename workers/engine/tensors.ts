/**
 * A safetensors index that reads no tensor until asked: the header of a file given as one
 * buffer or its chunks, and each tensor's raw little-endian bytes on demand (a view where the
 * tensor sits in one chunk, a copy of that tensor alone where it spans two). The engine packs
 * every tensor straight from these bytes into its own memory: the weights are never converted
 * to a whole-model float32 copy in JavaScript.
 *
 * Besides F32, F16 and BF16, it reads webinfer's quantized tensors: I8 (int8) and U8 (two int4
 * per byte), each with its float32 scales (see `quantize.ts`).
 */
import { ManifestError } from '../../src/shared/errors/manifest.js';

export type TensorDtype = 'F32' | 'F16' | 'BF16' | 'I8' | 'U8';
const SIZES: Record<TensorDtype, number> = { F32: 4, F16: 2, BF16: 2, I8: 1, U8: 1 };

export interface TensorEntry {
  readonly name: string;
  readonly dtype: TensorDtype;
  readonly shape: readonly number[];
  readonly bytes: number;
}

/** A tensor source: what the engine's loaders read weights from. */
export interface TensorSource {
  get(name: string): TensorEntry | undefined;
  /** The tensor's raw bytes (little-endian). Valid until the source is released. */
  read(entry: TensorEntry): Uint8Array;
  readonly metadata: Readonly<Record<string, string>>;
  names(): string[];
}

/**
 * Indexes safetensors data.
 *
 * @example
 * const src = indexSafetensors([chunk1, chunk2]);
 * const e = src.get('transformer.wte.weight'); // { dtype: 'F32', shape: [50257, 768], bytes: 154389504 }
 * const raw = src.read(e!);                  // Uint8Array of e.bytes
 */
export function indexSafetensors(input: Uint8Array | readonly Uint8Array[], where = 'model.safetensors'): TensorSource {
  const chunks = input instanceof Uint8Array ? [input] : [...input];
  const starts: number[] = [];
  let total = 0;
  for (const c of chunks) {
    starts.push(total);
    total += c.byteLength;
  }
  const bad = (why: string): never => {
    throw new ManifestError(`${where}: ${why}`, { url: where, issues: [why] });
  };
  const slice = (from: number, to: number): Uint8Array => {
    // Find the chunk holding `from`.
    let i = starts.length - 1;
    while (i > 0 && (starts[i] as number) > from) i--;
    const c = chunks[i] as Uint8Array;
    const off = from - (starts[i] as number);
    if (off + (to - from) <= c.byteLength) return c.subarray(off, off + (to - from));
    const out = new Uint8Array(to - from);
    let o = 0;
    let at = from;
    while (at < to) {
      let j = starts.length - 1;
      while (j > 0 && (starts[j] as number) > at) j--;
      const cj = chunks[j] as Uint8Array;
      const k = at - (starts[j] as number);
      const n = Math.min(cj.byteLength - k, to - at);
      out.set(cj.subarray(k, k + n), o);
      o += n;
      at += n;
    }
    return out;
  };
  if (total < 8) bad('shorter than its 8-byte header length');
  const lenBytes = slice(0, 8);
  const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (n > total - 8 || n > 100 * 1024 * 1024) bad(`header length ${n} is past the end of the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(slice(8, 8 + n))) as Record<string, unknown>;
  } catch (e) {
    return bad(`header is not JSON (${String(e)})`);
  }
  const base = 8 + n;
  const entries = new Map<string, TensorEntry & { from: number }>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw && typeof raw === 'object') metadata = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t.dtype !== 'string' || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets)) bad(`tensor ${name}: dtype, shape and data_offsets are required`);
    const dtype = t.dtype as TensorDtype;
    const size = SIZES[dtype];
    if (size === undefined) bad(`tensor ${name}: dtype ${String(t.dtype)} is not supported (F32, F16, BF16, I8, U8)`);
    const shape = t.shape as number[];
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor ${name}: bad shape`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [start, end] = t.data_offsets as [number, number];
    const want = dtype === 'U8' ? Math.ceil(count / 2) : count * size;
    if (!Number.isInteger(start) || !Number.isInteger(end) || end - start !== want || base + end > total || start < 0) {
      bad(`tensor ${name}: data_offsets [${start}, ${end}] do not match shape [${shape.join(', ')}] × ${dtype}`);
    }
    entries.set(name, { name, dtype, shape, bytes: end - start, from: base + start });
  }
  return {
    metadata,
    get: (name) => entries.get(name),
    names: () => [...entries.keys()],
    read: (entry) => {
      const e = entries.get(entry.name);
      if (!e) return bad(`tensor ${entry.name} is not in this file`);
      return slice(e.from, e.from + e.bytes);
    },
  };
}

export { toFloat32 } from '../../src/shared/quant/safetensors.js';
