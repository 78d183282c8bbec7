/**
 * A reader of the safetensors format: an 8-byte little-endian header length, a JSON
 * header (`name → { dtype, shape, data_offsets }`), then raw little-endian data.
 * F32, F16 and BF16 tensors are returned as float32. Pure TypeScript.
 */
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { floatToHalfBits } from '../../src/shared/quant/safetensors.js';

export interface SafeTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The values, as float32. */
  readonly data: Float32Array;
}

const SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

let halfTable: Float32Array | undefined;

/**
 * Parses a safetensors file (given as one buffer or as its chunks, in order).
 *
 * @example
 * const tensors = readSafetensors(bytes);
 * tensors.get('transformer.wte.weight')?.shape; // [2048, 256]
 */
export function readSafetensors(input: Uint8Array | readonly Uint8Array[], where = 'model.safetensors'): Map<string, SafeTensor> {
  const bytes = concat(input);
  const bad = (why: string): never => {
    throw new ManifestError(`${where}: ${why}`, { url: where, issues: [why] });
  };
  if (bytes.byteLength < 8) bad('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.byteLength - 8) bad(`header length ${n} is past the end of the file`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as typeof header;
  } catch (e) {
    return bad(`header is not JSON (${String(e)})`);
  }
  const base = 8 + n;
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: off } = t;
    if (typeof dtype !== 'string' || !Array.isArray(shape) || !Array.isArray(off)) bad(`tensor ${name}: dtype, shape and data_offsets are required`);
    const size = SIZES[dtype!];
    if (size === undefined) bad(`tensor ${name}: dtype ${dtype} is not supported (F32, F16, BF16)`);
    const count = shape!.reduce((a, b) => a * b, 1);
    const [start, end] = off!;
    if (end - start !== count * size! || base + end > bytes.byteLength || start < 0) bad(`tensor ${name}: data_offsets [${start}, ${end}] do not match shape [${shape!.join(', ')}] × ${dtype}`);
    const data = new Float32Array(count);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + base + start, end - start);
    if (dtype === 'F32') {
      for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
    } else if (dtype === 'F16') {
      if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
      }
      for (let i = 0; i < count; i++) data[i] = halfTable[dv.getUint16(i * 2, true)] as number;
    } else {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        tmp.setUint32(0, dv.getUint16(i * 2, true) << 16, true);
        data[i] = tmp.getFloat32(0, true);
      }
    }
    out.set(name, { dtype: dtype!, shape: shape!, data });
  }
  return out;
}

function concat(input: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input.length === 1) return input[0] as Uint8Array;
  const all = new Uint8Array(input.reduce((s, c) => s + c.byteLength, 0));
  let o = 0;
  for (const c of input) {
    all.set(c, o);
    o += c.byteLength;
  }
  return all;
}

/**
 * Writes a safetensors file (float32 or float16 data). Used by tests and tools.
 *
 * @example
 * writeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } }); // Uint8Array
 */
export function writeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array; dtype?: 'F32' | 'F16' }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = t.dtype ?? 'F32';
    const size = dtype === 'F32' ? 4 : 2;
    const buf = new Uint8Array(t.data.length * size);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < t.data.length; i++) {
      if (dtype === 'F32') dv.setFloat32(i * 4, t.data[i] as number, true);
      else dv.setUint16(i * 2, floatToHalf(t.data[i] as number), true);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + buf.length] };
    off += buf.length;
    parts.push(buf);
  }
  let h = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (h.length % 8)) % 8;
  if (pad) h = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let o = 8 + h.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** float → IEEE half bits (round to nearest). */
export const floatToHalf = floatToHalfBits;
