/**
 * The safetensors container, raw: its header and each tensor's little-endian bytes, no
 * conversion. Used by the registry's publisher (to write float16 / int8 / int4 variants of text
 * models) and by tests; the worker reads tensors through `workers/engine/tensors.ts`.
 *
 * Layout: an 8-byte little-endian header length n, n bytes of JSON (`name → { dtype, shape,
 * data_offsets: [start, end] }`, plus an optional `__metadata__` of strings), then the data.
 */

export interface RawTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The tensor's bytes, little-endian. */
  readonly data: Uint8Array;
}

export interface RawSafetensors {
  readonly tensors: ReadonlyMap<string, RawTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Parses a whole safetensors file into raw tensors (views of `bytes`, no copies).
 *
 * @example
 * const { tensors } = parseSafetensors(bytes);
 * tensors.get('transformer.wte.weight'); // { dtype: 'F32', shape: [50257, 768], data: Uint8Array(154389504) }
 */
export function parseSafetensors(bytes: Uint8Array): RawSafetensors {
  if (bytes.byteLength < 8) throw new RangeError('a safetensors file is at least 8 bytes');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.byteLength - 8) throw new RangeError(`header length ${n} is past the end of the file`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const base = 8 + n;
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = Object.fromEntries(Object.entries((raw ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const t = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [start, end] = t.data_offsets;
    if (base + end > bytes.byteLength) throw new RangeError(`tensor ${name} runs past the end of the file`);
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data: bytes.subarray(base + start, base + end) });
  }
  return { tensors, metadata };
}

/**
 * Writes raw tensors (in the given order, with no gaps between them, as the format requires) and
 * string metadata as one safetensors file; the header is padded to a multiple of 8 bytes.
 *
 * @example
 * writeRawSafetensors([['w', { dtype: 'F32', shape: [2], data: new Uint8Array(8) }]], { 'webinfer.quantization': 'int8' });
 */
export function writeRawSafetensors(tensors: Iterable<readonly [string, RawTensor]>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const list = [...tensors];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = { ...metadata };
  let off = 0;
  for (const [name, t] of list) {
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + new TextEncoder().encode(text).length) % 8)) % 8);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  for (const [name, t] of list) {
    const [start] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    out.set(t.data, 8 + h.length + start);
  }
  return out;
}

let halfTable: Float32Array | undefined;

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * A float tensor's values (F32, F16 or BF16) as float32, written into `out` (which must hold them).
 *
 * @example
 * toFloat32(src.read(entry), 'F16', view); // view now holds the values
 */
export function toFloat32(raw: Uint8Array, dtype: string, out: Float32Array): Float32Array {
  const count = out.length;
  if (dtype === 'F32') {
    if (raw.byteOffset % 4 === 0) out.set(new Float32Array(raw.buffer, raw.byteOffset, count));
    else out.set(new Float32Array(raw.slice().buffer, 0, count));
    return out;
  }
  if (dtype === 'F16') {
    if (!halfTable) {
      halfTable = new Float32Array(65536);
      for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
    }
    const t = halfTable;
    const u16 = raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, count) : new Uint16Array(raw.slice().buffer, 0, count);
    for (let i = 0; i < count; i++) out[i] = t[u16[i] as number] as number;
    return out;
  }
  if (dtype === 'BF16') {
    const u16 = raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, count) : new Uint16Array(raw.slice().buffer, 0, count);
    const bits = new Uint32Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) bits[i] = (u16[i] as number) << 16;
    return out;
  }
  throw new RangeError(`${dtype} is not a float dtype`);
}

/**
 * float → IEEE half bits (round to nearest).
 *
 * @example
 * floatToHalfBits(1); // 0x3c00
 */
export function floatToHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >> 16) & 0x8000;
  let e = ((u >> 23) & 0xff) - 127 + 15;
  let m = u & 0x7fffff;
  if (e >= 31) return sign | 0x7c00 | (((u >> 23) & 0xff) === 0xff && m ? 0x200 : 0);
  if (e <= 0) {
    if (e < -10) return sign;
    m = (m | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000) >> 13);
  }
  const r = sign | (e << 10) | (m >> 13);
  return (m & 0x1000) !== 0 ? r + 1 : r;
}
