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
  /** Where its data starts in the file (sources list tensors in this order). */
  readonly offset?: number;
}

/** A tensor source: what the engine's loaders read weights from. */
export interface TensorSource {
  get(name: string): TensorEntry | undefined;
  /** The tensor's raw bytes (little-endian): a view, or a copy where it spans two chunks. */
  read(entry: TensorEntry): Uint8Array;
  /** Bytes [start, end) of the tensor's data, the same way (a copy of that range only). */
  readRange?(entry: TensorEntry, start: number, end: number): Uint8Array;
  /** Says the tensor was copied out: a chunk whose every tensor is done is released (its bytes can go). */
  done?(entry: TensorEntry): void;
  readonly metadata: Readonly<Record<string, string>>;
  names(): string[];
}

/** Options of {@link indexSafetensors}. */
export interface IndexOptions {
  /** Called once for each chunk whose tensors are all `done()`: the caller drops its bytes. */
  readonly release?: (chunk: number) => void;
}

/**
 * Indexes safetensors data.
 *
 * @example
 * const src = indexSafetensors([chunk1, chunk2]);
 * const e = src.get('transformer.wte.weight'); // { dtype: 'F32', shape: [50257, 768], bytes: 154389504 }
 * const raw = src.read(e!);                  // Uint8Array of e.bytes
 */
export function indexSafetensors(input: Uint8Array | readonly Uint8Array[], where = 'model.safetensors', options: IndexOptions = {}): TensorSource {
  const given = input instanceof Uint8Array ? [input] : [...input];
  const chunks: (Uint8Array | undefined)[] = [...given];
  const starts: number[] = [];
  let total = 0;
  for (const c of given) {
    starts.push(total);
    total += c.byteLength;
  }
  const bad = (why: string): never => {
    throw new ManifestError(`${where}: ${why}`, { url: where, issues: [why] });
  };
  const chunkOf = (at: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const chunk = (i: number): Uint8Array => {
    const c = chunks[i];
    if (!c) return bad(`chunk ${i} was read after it was released`);
    return c;
  };
  const slice = (from: number, to: number): Uint8Array => {
    const i = chunkOf(from);
    const c = chunk(i);
    const off = from - (starts[i] as number);
    if (off + (to - from) <= c.byteLength) return c.subarray(off, off + (to - from));
    const out = new Uint8Array(to - from);
    let o = 0;
    let at = from;
    while (at < to) {
      const j = chunkOf(at);
      const cj = chunk(j);
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
    entries.set(name, { name, dtype, shape, bytes: end - start, offset: base + start, from: base + start });
  }
  // For releasing chunks: how many tensors not yet done overlap each chunk (chunk 0 also holds the header).
  const pending = new Array<number>(chunks.length).fill(0);
  const span = (e: { from: number; bytes: number }): [number, number] => [chunkOf(e.from), chunkOf(Math.max(e.from, e.from + e.bytes - 1))];
  for (const e of entries.values()) {
    const [a, b] = span(e);
    for (let i = a; i <= b; i++) pending[i] = (pending[i] as number) + 1;
  }
  const doneSet = new Set<string>();
  const entryOf = (entry: TensorEntry): TensorEntry & { from: number } => {
    const e = entries.get(entry.name);
    if (!e) return bad(`tensor ${entry.name} is not in this file`);
    return e;
  };
  return {
    metadata,
    get: (name) => entries.get(name),
    // In file order, so that a loader copying them one by one releases chunks as it goes.
    names: () => [...entries.values()].sort((a, b) => a.from - b.from).map((e) => e.name),
    read: (entry) => {
      const e = entryOf(entry);
      return slice(e.from, e.from + e.bytes);
    },
    readRange: (entry, start, end) => {
      const e = entryOf(entry);
      if (start < 0 || end > e.bytes || start > end) return bad(`tensor ${entry.name}: range [${start}, ${end}) is outside its ${e.bytes} bytes`);
      return slice(e.from + start, e.from + end);
    },
    done: (entry) => {
      const e = entryOf(entry);
      if (doneSet.has(e.name)) return;
      doneSet.add(e.name);
      const [a, b] = span(e);
      for (let i = a; i <= b; i++) {
        pending[i] = (pending[i] as number) - 1;
        if (pending[i] === 0 && chunks[i]) {
          chunks[i] = undefined;
          options.release?.(i);
        }
      }
    },
  };
}

export { toFloat32 } from '../../src/shared/quant/safetensors.js';

/**
 * One source over several files (a sharded checkpoint: `model-00001-of-00002.safetensors`, …):
 * tensors are found by name in whichever shard holds them; names come shard by shard, in file order.
 *
 * @example
 * const src = mergeSources([indexSafetensors(shard1), indexSafetensors(shard2)]);
 */
export function mergeSources(sources: readonly TensorSource[]): TensorSource {
  if (sources.length === 1) return sources[0] as TensorSource;
  const owner = new Map<string, TensorSource>();
  const names: string[] = [];
  for (const s of sources) {
    for (const n of s.names()) {
      if (!owner.has(n)) names.push(n);
      owner.set(n, s);
    }
  }
  const of = (e: TensorEntry): TensorSource => {
    const s = owner.get(e.name);
    if (!s) throw new ManifestError(`tensor ${e.name} is in no shard`, { url: 'model.safetensors.index.json', issues: [e.name] });
    return s;
  };
  const metadata = Object.assign({}, ...sources.map((s) => s.metadata)) as Record<string, string>;
  return {
    metadata,
    names: () => [...names],
    get: (name) => owner.get(name)?.get(name),
    read: (e) => of(e).read(e),
    readRange: (e, a, b) => {
      const s = of(e);
      return s.readRange ? s.readRange(e, a, b) : s.read(e).subarray(a, b);
    },
    done: (e) => of(e).done?.(e),
  };
}
