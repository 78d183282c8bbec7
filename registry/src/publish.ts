/**
 * Publishing a TensorFlow.js model directory as a new, immutable version in a
 * filesystem registry (protocol v1). Node only.
 *
 * @example
 * await publish({ modelDir: 'models/tiny-cnn', root: '.registry', id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: 'models/tiny-cnn/card.json' });
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ALIAS_RE,
  check,
  FILE_PATH_RE,
  Manifest,
  manifestProblems,
  ModelIndex,
  Catalog,
  type CatalogEntry,
  type FileEntry,
  type Format,
  type VersionEntry,
} from 'webinfer/protocol';
import { compareSemver, parseSafetensors, paths } from 'webinfer/protocol';
import { assertId, assertVersion, etagOf, RegistryStore, RegistryStoreError, sha256Sri, toJsonText, type LockOptions } from './store.js';
import { QUANTIZED_DTYPES, quantizeModel, type QuantizedDtype } from './quantize.js';
import { groupFor, quantizedWidths, quantizeTextSafetensors, TEXT_QUANTIZED_DTYPES, type TextQuantizedDtype } from './quantize-text.js';
import { sha256Hex } from './store.js';
import { KeyStore } from './keys.js';

/** The fields a model card (JSON) may carry; they are copied into the manifest. */
export const CARD_FIELDS = ['task', 'description', 'labels', 'preprocess', 'output', 'outputName', 'license', 'source', 'metrics', 'format', 'generator', 'text', 'outputLayer'] as const;

/**
 * Options of {@link publish} (and, without `root`, of {@link prepareVersion}).
 *
 * @example
 * await publish({ modelDir: 'models/tiny-cnn', root: '.registry', id: 'tiny-cnn', version: '1.0.0', quantize: ['float16'] });
 */
export interface PublishOptions {
  /** Directory holding `model.json` (or another tfjs model JSON, see `entry`) and its weight shards. */
  modelDir: string;
  /** Registry root directory (created when missing). */
  root: string;
  id: string;
  version: string;
  /** Aliases to point at this version (`latest` is always maintained automatically). */
  aliases?: string[];
  /** Model card: an object, or the path of a JSON file. */
  card?: Record<string, unknown> | string;
  /** Overrides the card's `task`. */
  task?: string;
  /** Overrides the card's `description`. */
  description?: string;
  /** The model JSON inside `modelDir`. Default: `model.json`, else the only `*.json` holding a tfjs model. */
  entry?: string;
  /**
   * Also write quantized variants (`float16`, `uint8`) of the float32 weights, in the tfjs
   * weights-manifest format that tfjs dequantizes on load. See `registry/src/quantize.ts`.
   */
  quantize?: readonly AnyQuantizedDtype[];
  /** gpt2-safetensors: largest chunk of `model.safetensors` (default 32 MiB); bigger files are split. */
  chunkBytes?: number;
  /** Timestamp of the publication (tests). Default: now. */
  now?: Date;
  lock?: LockOptions;
  /** Mark a new model private (reads need a `read` token on the service; `export` leaves it out). */
  private?: boolean;
  /** Called (and awaited) at each step: hashing, every chunk of every blob, commit. */
  onProgress?: (p: PublishProgress) => void | Promise<void>;
}

/**
 * The outcome of {@link publish} and {@link publishPrepared}.
 *
 * @example
 * const { index, etag, uploaded, written } = await publish({ modelDir: 'models/tiny-cnn', root: '.registry', id: 'tiny-cnn', version: '1.0.0' });
 */
export interface PublishResult {
  id: string;
  version: string;
  manifest: Manifest;
  index: ModelIndex;
  /** ETag of the model index after the publish (for a following `promote … { ifMatch }`). */
  etag: string;
  /** How many blobs the registry did not have before. */
  uploaded: number;
  /** Protocol paths written (manifest, index, catalogue) plus the blobs that were new. */
  written: string[];
}

/** Reads a model card given as an object or a JSON file path. */
export async function loadCard(card: PublishOptions['card']): Promise<Record<string, unknown>> {
  if (card === undefined) return {};
  if (typeof card === 'string') {
    let text: string;
    try {
      text = await fs.readFile(card, 'utf8');
    } catch (e) {
      throw new RegistryStoreError(`cannot read card ${card}: ${(e as Error).message}`, 'NOT_FOUND', { cause: e });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new RegistryStoreError(`card ${card} is not valid JSON: ${(e as Error).message}`, 'INVALID', { cause: e });
    }
    return asCard(data, card);
  }
  return asCard(card, 'card');
}

function asCard(data: unknown, where: string): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new RegistryStoreError(`${where}: a card must be a JSON object`, 'INVALID');
  }
  const unknown = Object.keys(data).filter((k) => !(CARD_FIELDS as readonly string[]).includes(k) && k !== '$schema');
  if (unknown.length > 0) {
    throw new RegistryStoreError(`${where}: unknown card field(s) ${unknown.join(', ')} (allowed: ${CARD_FIELDS.join(', ')})`, 'INVALID');
  }
  return data as Record<string, unknown>;
}

/** What publishing reads from a tfjs model directory. */
export interface ModelFiles {
  format: Format;
  entry: string;
  /** Entry first, then the weight shards in manifest order. A chunk is the byte range [start, end) of `abs`. */
  files: Array<{ path: string; abs: string; start?: number; end?: number }>;
}

/** Largest chunk of a safetensors file in the registry (resumable, cached per chunk). */
export const MAX_CHUNK_BYTES = 32 * 1024 * 1024;

/** The Hugging Face `model_type`s webinfer runs, and the format each is published as. */
export const TEXT_MODEL_TYPES: Readonly<Record<string, Format>> = { gpt2: 'gpt2-safetensors', llama: 'llama-safetensors', qwen2: 'llama-safetensors', mistral: 'llama-safetensors' };

/** Files a text model directory may carry besides its weights: config.json and tokenizer.json are required. */
export const TEXT_MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'] as const;

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

async function readJson(abs: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(abs, 'utf8'));
  } catch (e) {
    throw new RegistryStoreError(`${abs} is not valid JSON: ${(e as Error).message}`, 'INVALID', { cause: e });
  }
}

/**
 * The format of a Hugging Face text model directory from its `config.json`: `model_type` gpt2 →
 * `gpt2-safetensors`; llama, qwen2, mistral → `llama-safetensors` (a GPT-2 config without
 * model_type, with n_embd, counts as gpt2). Anything else is refused, naming what is supported.
 */
export function textFormatOf(config: unknown, where: string): Format {
  const c = (typeof config === 'object' && config !== null ? config : {}) as { model_type?: unknown; n_embd?: unknown };
  const type = typeof c.model_type === 'string' ? c.model_type : c.n_embd !== undefined ? 'gpt2' : undefined;
  const format = type !== undefined ? TEXT_MODEL_TYPES[type] : undefined;
  if (format === undefined) {
    throw new RegistryStoreError(`${where}: model_type ${type === undefined ? 'is missing' : `"${type}" is not supported`} (webinfer runs ${Object.keys(TEXT_MODEL_TYPES).join(', ')})`, 'INVALID');
  }
  return format;
}

/**
 * Reads a Hugging Face text model directory: `config.json`, `tokenizer.json`, optional
 * `tokenizer_config.json` (chat template, bos/eos) and `generation_config.json`, and the weights —
 * `model.safetensors`, or the shards `model.safetensors.index.json` lists. A weight file larger
 * than `chunkBytes` is listed as chunks `<file>.part-00000-of-00003`, … in order; the worker joins them.
 * Other files (README, PyTorch `.bin` weights, `.gguf`, …) are not published.
 */
export async function readTextModelDir(modelDir: string, chunkBytes = MAX_CHUNK_BYTES): Promise<ModelFiles> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RegistryStoreError(`chunkBytes must be an integer in 1…${MAX_CHUNK_BYTES}`, 'INVALID');
  }
  for (const name of ['config.json', 'tokenizer.json']) {
    if (!(await isFile(path.join(modelDir, name)))) {
      throw new RegistryStoreError(`${path.join(modelDir, name)} is missing (a text model needs config.json, tokenizer.json and model.safetensors or model.safetensors.index.json)`, 'NOT_FOUND');
    }
  }
  const format = textFormatOf(await readJson(path.join(modelDir, 'config.json')), path.join(modelDir, 'config.json'));
  const files: ModelFiles['files'] = [];
  for (const name of TEXT_MODEL_FILES) {
    const abs = path.join(modelDir, name);
    if (!(await isFile(abs))) continue;
    await readJson(abs);
    files.push({ path: name, abs });
  }
  let shards = ['model.safetensors'];
  const indexAbs = path.join(modelDir, 'model.safetensors.index.json');
  if (await isFile(indexAbs)) {
    const map = ((await readJson(indexAbs)) as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null) throw new RegistryStoreError(`${indexAbs} has no weight_map`, 'INVALID');
    shards = [...new Set(Object.values(map).map(String))];
    if (shards.some((f) => f.includes('/') || f.includes('\\') || !f.endsWith('.safetensors'))) {
      throw new RegistryStoreError(`${indexAbs}: shards must be .safetensors files beside it`, 'INVALID');
    }
    files.push({ path: 'model.safetensors.index.json', abs: indexAbs });
  }
  for (const name of shards) {
    const abs = path.join(modelDir, name);
    const st = await fs.stat(abs).catch(() => undefined);
    if (!st?.isFile()) throw new RegistryStoreError(`${abs} is missing (${shards.length > 1 ? 'a shard listed by model.safetensors.index.json' : 'the weights'})`, 'NOT_FOUND');
    if (st.size <= chunkBytes) {
      files.push({ path: name, abs });
      continue;
    }
    const n = Math.ceil(st.size / chunkBytes);
    const width = Math.max(5, String(n).length);
    for (let i = 0; i < n; i++) {
      const tag = `${String(i).padStart(width, '0')}-of-${String(n).padStart(width, '0')}`;
      files.push({ path: `${name}.part-${tag}`, abs, start: i * chunkBytes, end: Math.min(st.size, (i + 1) * chunkBytes) });
    }
  }
  return { format, entry: 'config.json', files };
}

/** True when `modelDir` looks like a Hugging Face text model directory (config.json, tokenizer.json and safetensors weights). */
export async function isTextModelDir(modelDir: string): Promise<boolean> {
  const has = (n: string): Promise<boolean> => isFile(path.join(modelDir, n));
  return (await has('config.json')) && (await has('tokenizer.json')) && ((await has('model.safetensors')) || (await has('model.safetensors.index.json')));
}

/** Reads the byte range of a chunk (or the whole file). */
async function readRange(f: ModelFiles['files'][number]): Promise<Buffer> {
  if (f.start === undefined && f.end === undefined) return fs.readFile(f.abs);
  const h = await fs.open(f.abs, 'r');
  try {
    const len = (f.end ?? 0) - (f.start ?? 0);
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await h.read(buf, got, len - got, (f.start ?? 0) + got);
      if (bytesRead === 0) throw new RegistryStoreError(`${f.abs} shrank while publishing`, 'CONFLICT');
      got += bytesRead;
    }
    return buf;
  } finally {
    await h.close();
  }
}

/**
 * Detects the tfjs format of a model JSON (`model.json` contents).
 *
 * @example
 * detectFormat({ format: 'layers-model', modelTopology: {} });   // 'tfjs-layers'
 * detectFormat({ hello: 1 });                                    // undefined
 */
export function detectFormat(modelJson: unknown): Format | undefined {
  if (typeof modelJson !== 'object' || modelJson === null) return undefined;
  const m = modelJson as { format?: unknown; modelTopology?: unknown };
  if (m.format === 'layers-model') return 'tfjs-layers';
  if (m.format === 'graph-model') return 'tfjs-graph';
  const topo = m.modelTopology as Record<string, unknown> | undefined | null;
  if (typeof topo === 'object' && topo !== null) {
    if ('model_config' in topo || 'class_name' in topo) return 'tfjs-layers';
    if ('node' in topo) return 'tfjs-graph';
  }
  return undefined;
}

/**
 * Finds the model JSON and weight shards of a tfjs model directory.
 *
 * @example
 * (await readModelDir('models/tiny-cnn')).files.map((f) => f.path);   // ['model.json', 'group1-shard1of1.bin']
 */
export async function readModelDir(modelDir: string, entry?: string): Promise<ModelFiles> {
  let st;
  try {
    st = await fs.stat(modelDir);
  } catch {
    throw new RegistryStoreError(`model directory ${modelDir} does not exist`, 'NOT_FOUND');
  }
  if (!st.isDirectory()) throw new RegistryStoreError(`${modelDir} is not a directory`, 'INVALID');

  let entryName = entry;
  if (entryName === undefined) {
    const names = (await fs.readdir(modelDir)).filter((n) => n.endsWith('.json')).sort();
    if (names.includes('model.json')) entryName = 'model.json';
    else {
      const candidates: string[] = [];
      for (const n of names) {
        const data = await fs.readFile(path.join(modelDir, n), 'utf8').then(JSON.parse).catch(() => undefined);
        if (detectFormat(data) && typeof data === 'object' && 'weightsManifest' in (data as object)) candidates.push(n);
      }
      if (candidates.length !== 1) {
        throw new RegistryStoreError(
          candidates.length === 0
            ? `${modelDir} has no model.json (nor another tfjs model JSON)`
            : `${modelDir} has several model JSON files (${candidates.join(', ')}); choose one with entry`,
          'NOT_FOUND',
        );
      }
      entryName = candidates[0]!;
    }
  }
  if (!FILE_PATH_RE.test(entryName)) throw new RegistryStoreError(`invalid entry file name "${entryName}"`, 'INVALID');
  const entryAbs = path.join(modelDir, entryName);
  let model: unknown;
  try {
    model = JSON.parse(await fs.readFile(entryAbs, 'utf8'));
  } catch (e) {
    throw new RegistryStoreError(`cannot read ${entryAbs}: ${(e as Error).message}`, 'INVALID', { cause: e });
  }
  const format = detectFormat(model);
  if (!format) {
    throw new RegistryStoreError(`${entryAbs} is not a TensorFlow.js layers or graph model (no format, no modelTopology)`, 'INVALID');
  }
  const wm = (model as { weightsManifest?: unknown }).weightsManifest;
  if (!Array.isArray(wm)) throw new RegistryStoreError(`${entryAbs}: weightsManifest must be an array`, 'INVALID');
  const files: ModelFiles['files'] = [{ path: entryName, abs: entryAbs }];
  const seen = new Set([entryName]);
  const baseDir = path.posix.dirname(entryName);
  for (const group of wm) {
    const groupPaths = (group as { paths?: unknown } | null)?.paths;
    if (!Array.isArray(groupPaths)) throw new RegistryStoreError(`${entryAbs}: weightsManifest[].paths must be an array`, 'INVALID');
    for (const p of groupPaths) {
      if (typeof p !== 'string') throw new RegistryStoreError(`${entryAbs}: weight path must be a string`, 'INVALID');
      // Shard paths are relative to the model JSON.
      const rel = baseDir === '.' ? p : `${baseDir}/${p}`;
      if (!FILE_PATH_RE.test(rel)) throw new RegistryStoreError(`${entryAbs}: unsupported weight path "${p}" (relative, no '..')`, 'INVALID');
      if (seen.has(rel)) continue;
      seen.add(rel);
      const abs = path.join(modelDir, ...rel.split('/'));
      try {
        if (!(await fs.stat(abs)).isFile()) throw new Error('not a file');
      } catch {
        throw new RegistryStoreError(`weight shard ${abs} (listed in ${entryName}) is missing`, 'NOT_FOUND');
      }
      files.push({ path: rel, abs });
    }
  }
  return { format, entry: entryName, files };
}

/** Hashes files (SHA-256, streaming). */
async function describeFiles(files: ModelFiles['files']): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const f of files) {
    const hash = createHash('sha256');
    let size = 0;
    const stream = f.start !== undefined ? createReadStream(f.abs, { start: f.start, end: (f.end as number) - 1 }) : createReadStream(f.abs);
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    out.push({ path: f.path, size, sha256: hash.digest('hex') });
  }
  return out;
}

/** One quantized variant, in memory until it is stored. */
interface QuantizedVariant {
  dtype: QuantizedDtype | TextQuantizedDtype;
  files: Array<FileEntry & { bytes: Uint8Array }>;
}

/** Every dtype `--quantize` knows: float16 and uint8 for image models, float16, int8 and int4 for text models. */
export const ANY_QUANTIZED_DTYPES = [...new Set([...QUANTIZED_DTYPES, ...TEXT_QUANTIZED_DTYPES])];
export type AnyQuantizedDtype = QuantizedDtype | TextQuantizedDtype;

/**
 * Checks a list of quantized dtypes (e.g. from `--quantize float16,uint8`): `INVALID` naming the
 * supported ones on anything else. Duplicates are dropped. Which of them fit a model is checked
 * when its format is known (int8 / int4 are for text models, uint8 for image models).
 *
 * @example
 * quantizedDtypes(['float16', 'uint8']);   // ['float16', 'uint8']
 * quantizedDtypes(['int2']);               // throws: cannot quantize to "int2" (supported: float16, uint8, int8, int4)
 */
export function quantizedDtypes(dtypes: readonly string[]): AnyQuantizedDtype[] {
  const out: AnyQuantizedDtype[] = [];
  for (const d of new Set(dtypes)) {
    const known = ANY_QUANTIZED_DTYPES.find((q) => q === d);
    if (known === undefined) throw new RegistryStoreError(`cannot quantize to "${d}" (supported: ${ANY_QUANTIZED_DTYPES.join(', ')})`, 'INVALID');
    out.push(known);
  }
  return out;
}

/** The weight files of a text model in order: each shard with its chunks (or itself). */
function shardsOf(model: ModelFiles): Array<{ name: string; parts: ModelFiles['files'] }> {
  const out: Array<{ name: string; parts: ModelFiles['files'] }> = [];
  for (const f of model.files) {
    const name = f.path.replace(/\.part-\d+-of-\d+$/, '');
    if (!name.endsWith('.safetensors')) continue;
    const last = out.at(-1);
    if (last?.name === name) last.parts.push(f);
    else out.push({ name, parts: [f] });
  }
  return out;
}

/** Splits a file into the registry's chunks (`<name>.part-00000-of-00003`, …) when it is larger than one. */
function chunked(name: string, bytes: Uint8Array): Array<{ path: string; bytes: Uint8Array }> {
  if (bytes.byteLength <= MAX_CHUNK_BYTES) return [{ path: name, bytes }];
  const n = Math.ceil(bytes.byteLength / MAX_CHUNK_BYTES);
  const width = Math.max(5, String(n).length);
  return Array.from({ length: n }, (_, i) => ({ path: `${name}.part-${String(i).padStart(width, '0')}-of-${String(n).padStart(width, '0')}`, bytes: bytes.subarray(i * MAX_CHUNK_BYTES, (i + 1) * MAX_CHUNK_BYTES) }));
}

/**
 * Builds the requested quantized variants of a text model (gpt2-safetensors, llama-safetensors):
 * float16, int8, int4. Each shard is quantized on its own with one group size for all (the largest
 * that divides every matrix's inputs); a sharded model's index is rewritten with the new tensor names.
 */
async function quantizeTextVariants(model: ModelFiles, dtypes: readonly string[]): Promise<QuantizedVariant[]> {
  const wanted: TextQuantizedDtype[] = [];
  for (const d of new Set(dtypes)) {
    const known = TEXT_QUANTIZED_DTYPES.find((q) => q === d);
    if (known === undefined) throw new RegistryStoreError(`cannot quantize a text model to "${d}" (supported: ${TEXT_QUANTIZED_DTYPES.join(', ')})`, 'INVALID');
    wanted.push(known);
  }
  if (wanted.length === 0) return [];
  const shards = await Promise.all(shardsOf(model).map(async (s) => ({ name: s.name, bytes: new Uint8Array(Buffer.concat(await Promise.all(s.parts.map(readRange)))) })));
  const other = await Promise.all(
    model.files.filter((f) => !/\.safetensors(\.part-\d+-of-\d+)?$/.test(f.path) && f.path !== 'model.safetensors.index.json').map(async (f) => ({ path: f.path, bytes: new Uint8Array(await readRange(f)) })),
  );
  const sharded = model.files.some((f) => f.path === 'model.safetensors.index.json');
  return wanted.map((dtype) => {
    const files: Array<{ path: string; bytes: Uint8Array }> = [...other];
    const weightMap: Record<string, string> = {};
    try {
      const group = dtype === 'float16' ? 0 : groupFor(dtype, shards.flatMap((s) => quantizedWidths(s.bytes)));
      for (const s of shards) {
        const bytes = quantizeTextSafetensors(s.bytes, dtype, group);
        for (const name of parseSafetensors(bytes).tensors.keys()) weightMap[name] = s.name;
        files.push(...chunked(s.name, bytes));
      }
    } catch (e) {
      throw new RegistryStoreError(`cannot quantize the weights to ${dtype}: ${(e as Error).message}`, 'INVALID', { cause: e });
    }
    if (sharded) files.push({ path: 'model.safetensors.index.json', bytes: new TextEncoder().encode(JSON.stringify({ metadata: { 'webinfer.quantization': dtype }, weight_map: weightMap }, null, 2)) });
    return { dtype, files: files.map((f) => ({ path: f.path, size: f.bytes.byteLength, sha256: sha256Hex(f.bytes), bytes: f.bytes })) };
  });
}

/** Builds the requested quantized variants of a model directory's float32 weights. */
async function quantizeVariants(model: ModelFiles, dtypes: readonly string[]): Promise<QuantizedVariant[]> {
  if (model.format === 'gpt2-safetensors' || model.format === 'llama-safetensors') return quantizeTextVariants(model, dtypes);
  const wanted: QuantizedDtype[] = [];
  for (const d of new Set(dtypes)) {
    const known = QUANTIZED_DTYPES.find((q) => q === d);
    if (known === undefined) throw new RegistryStoreError(`cannot quantize a ${model.format} model to "${d}" (supported: ${QUANTIZED_DTYPES.join(', ')}; int8 and int4 are for text models)`, 'INVALID');
    wanted.push(known);
  }
  if (wanted.length === 0) return [];
  const json = JSON.parse(await fs.readFile(model.files[0]!.abs, 'utf8')) as Record<string, unknown>;
  const shards = await Promise.all(model.files.slice(1).map((f) => fs.readFile(f.abs)));
  const weights = new Uint8Array(Buffer.concat(shards));
  const dir = path.posix.dirname(model.entry);
  const stem = path.posix.basename(model.entry).replace(/\.json$/, '');
  return wanted.map((dtype) => {
    let q;
    try {
      q = quantizeModel(json, weights, dtype, stem);
    } catch (e) {
      throw new RegistryStoreError(`cannot quantize ${model.entry} to ${dtype}: ${(e as Error).message}`, 'INVALID', { cause: e });
    }
    if (q.converted === 0) {
      // Nothing to convert: the "variant" would be the same weights under another name, and clients told it is smaller.
      const stored = [...new Set((json['weightsManifest'] as Array<{ weights: Array<{ dtype?: string; quantization?: { dtype?: string } }> }>).flatMap((g) => g.weights.map((w) => w.quantization?.dtype ?? w.dtype ?? 'float32')))];
      throw new RegistryStoreError(`cannot quantize ${model.entry} to ${dtype}: it has no float32 weights (its weights are ${stored.join(', ')}); publish it without --quantize ${dtype}`, 'INVALID');
    }
    return {
      dtype,
      files: q.files.map((f) => ({ path: dir === '.' ? f.path : `${dir}/${f.path}`, size: f.bytes.byteLength, sha256: sha256Hex(f.bytes), bytes: f.bytes })),
    };
  });
}

/** Highest non-yanked version, by SemVer precedence. */
export function highestLive(versions: readonly VersionEntry[]): string | undefined {
  return versions
    .filter((e) => !e.yanked)
    .map((e) => e.version)
    .sort(compareSemver)
    .at(-1);
}

/**
 * Progress of a publication, for progress bars (and crash tests): awaited before the step goes on.
 *
 * @example
 * const onProgress = (p: PublishProgress): void => { if (p.phase === 'blob') console.log(`${p.file} ${p.loaded}/${p.total}`); };
 */
export type PublishProgress =
  | { phase: 'hash'; file: string }
  | { phase: 'blob'; file: string; sha256: string; loaded: number; total: number }
  | { phase: 'commit'; id: string; version: string };

/**
 * A version ready to be stored: its manifest (validated) and the local files behind its blobs.
 *
 * @example
 * const p: PreparedVersion = await prepareVersion({ modelDir: 'models/tiny-cnn', id: 'tiny-cnn', version: '1.0.0' });
 * p.files.map((f) => f.sha256);   // the blobs a publish stores or uploads
 */
export interface PreparedVersion {
  id: string;
  version: string;
  aliases: string[];
  now: string;
  /** The manifest document as it will be written (stable key order). */
  doc: Record<string, unknown>;
  manifest: Manifest;
  /** Every file with its local path, size and hash. */
  files: Array<FileEntry & { abs: string }>;
  /**
   * Removes the temp files the preparation spooled (chunks of large files, quantized variants). Call it once the
   * version is published (or given up); `publish()` and the CLI do. Safe to call twice.
   */
  dispose(): Promise<void>;
}

/** Options of {@link commitVersion}. */
export interface CommitOptions {
  aliases?: string[];
  /** Timestamp of the publication. Default: now. */
  now?: string;
  /** On the first version of a model: mark the model private (its reads need a `read` token on the service). */
  private?: boolean;
  lock?: LockOptions;
}

function assertAliases(aliases: readonly string[]): void {
  for (const a of aliases) {
    if (!ALIAS_RE.test(a)) throw new RegistryStoreError(`invalid alias "${a}" (lower-case letter first, then letters, digits, '-')`, 'INVALID');
  }
}

/**
 * Reads a model directory and its card, hashes every file and builds the validated manifest of
 * `id@version`. Writes nothing. Shared by a local publish and a publish to a remote registry.
 *
 * @example
 * const prepared = await prepareVersion({ modelDir: 'models/tiny-cnn', id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: 'models/tiny-cnn/card.json' });
 * await openRegistry({ root: '.registry' }).publish(prepared);
 */
export async function prepareVersion(opts: Omit<PublishOptions, 'root'>): Promise<PreparedVersion> {
  const { id, version } = opts;
  assertId(id);
  assertVersion(version);
  const aliases = [...new Set(opts.aliases ?? [])];
  assertAliases(aliases);
  const now = (opts.now ?? new Date()).toISOString();
  const card = await loadCard(opts.card);
  const model = opts.entry === undefined && (await isTextModelDir(opts.modelDir)) ? await readTextModelDir(opts.modelDir, opts.chunkBytes) : await readModelDir(opts.modelDir, opts.entry);
  if (card.format !== undefined && card.format !== model.format) {
    throw new RegistryStoreError(`card says format "${String(card.format)}" but ${model.entry} is ${model.format}`, 'INVALID');
  }
  // An image generator's second network (a VAE's encoder) is published beside the entry, in every variant's files.
  const encoder = (card.generator as { encoder?: unknown } | undefined)?.encoder;
  if (typeof encoder === 'string' && model.format === 'tfjs-layers') {
    const second = await readModelDir(opts.modelDir, encoder);
    if (second.format !== 'tfjs-layers') throw new RegistryStoreError(`the encoder ${encoder} is ${second.format}, not tfjs-layers`, 'INVALID');
    for (const f of second.files) if (!model.files.some((m) => m.path === f.path)) model.files.push(f);
  }
  for (const f of model.files) await opts.onProgress?.({ phase: 'hash', file: f.path });
  const files = await describeFiles(model.files);
  const quantized = await quantizeVariants(model, opts.quantize ?? []);

  // A text model needs no card: its task follows from its format. Other formats say theirs.
  const task = opts.task ?? card.task ?? (model.format === 'gpt2-safetensors' || model.format === 'llama-safetensors' ? 'text-generation' : undefined);
  if (task === undefined) {
    throw new RegistryStoreError(`${opts.modelDir}: which task is this ${model.format} model for? Give --task (e.g. image-classification) or a --card whose JSON has "task"`, 'INVALID');
  }
  const { format: _cardFormat, ...cardRest } = card;
  const draft: Record<string, unknown> = {
    schema: 'webinfer.manifest/v1',
    id,
    version,
    ...cardRest,
    task,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    format: model.format,
    createdAt: now,
    variants: {
      float32: { entry: model.entry, files },
      ...Object.fromEntries(quantized.map((q) => [q.dtype, { entry: q.files[0]!.path, files: q.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })) }])),
    },
  };
  // Stable key order in the written document.
  const order = ['schema', 'id', 'version', 'task', 'format', 'description', 'createdAt', 'license', 'source', 'labels', 'preprocess', 'output', 'outputName', 'text', 'outputLayer', 'metrics', 'variants'];
  const doc: Record<string, unknown> = {};
  for (const k of order) if (draft[k] !== undefined) doc[k] = draft[k];
  for (const k of Object.keys(draft)) if (!(k in doc) && draft[k] !== undefined) doc[k] = draft[k];

  const checked = check(Manifest, doc);
  const issues = checked.ok ? manifestProblems(checked.value) : checked.issues;
  if (checked.ok && (model.format === 'tfjs-layers' || model.format === 'tfjs-graph')) {
    issues.push(...cardProblems(checked.value, JSON.parse(await fs.readFile(model.files[0]!.abs, 'utf8')) as Record<string, unknown>));
  }
  if (!checked.ok || issues.length > 0) {
    throw new RegistryStoreError(`manifest for ${id}@${version} is invalid: ${issues.join('; ')}`, 'INVALID');
  }
  const temp: string[] = [];
  const dispose = async (): Promise<void> => {
    for (const d of temp.splice(0)) await fs.rm(d, { recursive: true, force: true });
  };
  try {
    return {
      id,
      version,
      aliases,
      now,
      doc,
      manifest: checked.value,
      files: [...(await spoolChunks(files, model.files, temp)), ...(await spoolQuantized(quantized, temp))],
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** What a tfjs layers model's topology says about its one input and one output, where it says it unambiguously. */
export function layersModelShape(modelJson: Record<string, unknown>): { input?: number[]; units?: number; activation?: string } {
  type Layer = { class_name?: string; name?: string; config?: Record<string, unknown> };
  const topo = (modelJson['modelTopology'] ?? {}) as { class_name?: string; config?: unknown; model_config?: { class_name?: string; config?: unknown } };
  const top = topo.model_config ?? topo;
  const cfg = (top.config ?? {}) as { layers?: Layer[]; input_layers?: unknown[]; output_layers?: unknown[] };
  const layers = Array.isArray(cfg.layers) ? cfg.layers : [];
  if (layers.length === 0) return {};
  const byName = (entry: unknown): Layer | undefined => (Array.isArray(entry) ? layers.find((l) => l.config?.['name'] === entry[0] || l.name === entry[0]) : undefined);
  let first: Layer | undefined = layers[0];
  let last: Layer | undefined = layers[layers.length - 1];
  if (top.class_name !== 'Sequential') {
    if (cfg.input_layers?.length !== 1 || cfg.output_layers?.length !== 1) return {};
    first = byName(cfg.input_layers[0]);
    last = byName(cfg.output_layers[0]);
  }
  const shape = (first?.config?.['batch_input_shape'] ?? first?.config?.['batch_shape']) as unknown;
  const input = Array.isArray(shape) && shape.slice(1).every((d) => typeof d === 'number') ? (shape.slice(1) as number[]) : undefined;
  const isDense = last?.class_name === 'Dense';
  const units = isDense && typeof last?.config?.['units'] === 'number' ? (last.config['units'] as number) : undefined;
  const activation = isDense && typeof last?.config?.['activation'] === 'string' ? (last.config['activation'] as string) : undefined;
  return { ...(input ? { input } : {}), ...(units !== undefined ? { units } : {}), ...(activation ? { activation } : {}) };
}

/**
 * What a tfjs graph model says about its one input and one output: the input shape of its only `Placeholder`
 * (or of its signature's only input), the output size where its signature's only output has a known last
 * dimension. Unknown (-1) sizes are left out.
 */
export function graphModelShape(modelJson: Record<string, unknown>): { input?: number[]; units?: number } {
  type Dim = { size?: string | number };
  type TensorInfo = { tensorShape?: { dim?: Dim[] } };
  const dims = (d: Dim[] | undefined): number[] | undefined => {
    if (!Array.isArray(d)) return undefined;
    const n = d.map((x) => Number(x.size ?? -1));
    return n.every((x) => Number.isInteger(x)) ? n : undefined;
  };
  const sig = (modelJson['signature'] ?? {}) as { inputs?: Record<string, TensorInfo>; outputs?: Record<string, TensorInfo> };
  const nodes = ((modelJson['modelTopology'] as { node?: unknown } | undefined)?.node ?? []) as Array<{ op?: string; attr?: { shape?: { shape?: { dim?: Dim[] } } } }>;
  const placeholders = Array.isArray(nodes) ? nodes.filter((n) => n.op === 'Placeholder') : [];
  const sigInputs = Object.values(sig.inputs ?? {});
  const inDims = sigInputs.length === 1 ? dims(sigInputs[0]!.tensorShape?.dim) : placeholders.length === 1 ? dims(placeholders[0]!.attr?.shape?.shape?.dim) : undefined;
  const input = inDims && inDims.length >= 2 && inDims.slice(1).every((x) => x > 0) ? inDims.slice(1) : undefined;
  const outs = Object.values(sig.outputs ?? {});
  const outDims = outs.length === 1 ? dims(outs[0]!.tensorShape?.dim) : undefined;
  const last = outDims?.[outDims.length - 1];
  return { ...(input ? { input } : {}), ...(last !== undefined && last > 0 ? { units: last } : {}) };
}

/**
 * Where a card contradicts its model (so the publish is refused, rather than the model failing in the
 * browser): labels against the output size, the pre-processing size against the input shape, `output: 'logits'`
 * on a single output (softmax over one score is 1 for every input). Layers models by their topology, graph
 * models by their input placeholder and signature. `verify` runs it on every published version too.
 *
 * @example
 * cardProblems(manifest, modelJson); // ['labels: 4 labels but the model has 3 outputs (Dense units)']
 */
export function cardProblems(manifest: Manifest, modelJson: Record<string, unknown>): string[] {
  if (manifest.task === 'image-generation' && manifest.generator) {
    const { input } = layersModelShape(modelJson);
    const dim = manifest.generator.latentDim;
    return input && (input.length !== 1 || input[0] !== dim) ? [`generator.latentDim: ${dim} but the generator's input is ${JSON.stringify(input)}`] : [];
  }
  if (manifest.task !== 'image-classification') return [];
  const problems: string[] = [];
  const { input, units, activation } = manifest.format === 'tfjs-graph' ? { ...graphModelShape(modelJson), activation: undefined } : layersModelShape(modelJson);
  const labels = manifest.labels?.length ?? 0;
  if (units !== undefined && labels > 0 && labels !== units) problems.push(`labels: ${labels} labels but the model has ${units} outputs (${manifest.format === 'tfjs-graph' ? 'its signature' : 'its last Dense layer'})`);
  if (units === 1 && manifest.output === 'logits') {
    problems.push(`output: 'logits' on a single output is softmax over one score, 1 for every input${activation === 'sigmoid' ? ' (the output is a sigmoid: use output \'probabilities\')' : ''}`);
  }
  const p = manifest.preprocess;
  if (input && p && input.length === 3) {
    const [h, w, c] = p.layout === 'nchw' ? [input[1], input[2], input[0]] : input;
    if (h !== p.height || w !== p.width || c !== p.channels) {
      problems.push(`preprocess: ${p.width}×${p.height}×${p.channels} (${p.layout}) but the model's input is ${JSON.stringify(input)} (height, width, channels${p.layout === 'nchw' ? ' as channels first' : ''})`);
    }
  }
  return problems;
}

/**
 * A chunk of a large file (gpt2-safetensors) is a byte range: spool each to its own temp file, so
 * that commits and uploads handle every blob as one whole file.
 */
async function spoolChunks(entries: readonly FileEntry[], files: ModelFiles['files'], temp: string[]): Promise<Array<FileEntry & { abs: string }>> {
  const out: Array<FileEntry & { abs: string }> = [];
  let dir: string | undefined;
  for (const [i, e] of entries.entries()) {
    const f = files[i]!;
    if (f.start === undefined) {
      out.push({ ...e, abs: f.abs });
      continue;
    }
    if (dir === undefined) {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'webinfer-chunks-'));
      temp.push(dir);
    }
    const abs = path.join(dir, e.sha256);
    await fs.writeFile(abs, await readRange(f));
    out.push({ ...e, abs });
  }
  return out;
}

/**
 * Quantized variants exist only in memory: spool their files to a private temp directory, so
 * that a local commit and an upload to a service treat every file the same way (by path).
 */
async function spoolQuantized(quantized: readonly QuantizedVariant[], temp: string[]): Promise<Array<FileEntry & { abs: string }>> {
  const all = quantized.flatMap((q) => q.files);
  if (all.length === 0) return [];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'webinfer-quantized-'));
  temp.push(dir);
  const out: Array<FileEntry & { abs: string }> = [];
  for (const f of all) {
    const abs = path.join(dir, f.sha256);
    await fs.writeFile(abs, f.bytes);
    out.push({ path: f.path, size: f.size, sha256: f.sha256, abs });
  }
  return out;
}

const refuseExisting = (id: string, version: string): RegistryStoreError =>
  new RegistryStoreError(`${id}@${version} is already published; versions are immutable, publish a new version`, 'EXISTS');

/** Throws when `index` already has `version` or is for another task. */
function checkIndexFor(index: ModelIndex | undefined, manifest: Manifest): void {
  if (index?.versions.some((e) => e.version === manifest.version)) throw refuseExisting(manifest.id, manifest.version);
  if (index && index.task !== manifest.task) {
    throw new RegistryStoreError(`${manifest.id} is a ${index.task} model; cannot publish ${manifest.version} as ${manifest.task}`, 'CONFLICT');
  }
}

/** Lock-free early checks, so that a refused publish writes nothing at all (not even blobs). */
export async function checkPublishable(store: RegistryStore, manifest: Manifest): Promise<void> {
  checkIndexFor(await store.readIndex(manifest.id), manifest);
}

const byKey = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Writes the catalogue entry of a model from its index (under the lock): the catalogue is a copy of
 * every index's aliases and live versions. Private models are listed too (the service filters them).
 */
export async function writeCatalogEntry(store: RegistryStore, index: ModelIndex): Promise<void> {
  const catalog = (await store.readCatalog()) ?? { schema: 'webinfer.catalog/v1' as const, models: [] };
  const entry: CatalogEntry & { private?: boolean } = {
    id: index.id,
    task: index.task,
    ...(index.description !== undefined ? { description: index.description } : {}),
    aliases: index.aliases,
    versions: index.versions.filter((e) => !e.yanked).map((e) => e.version),
    ...((index as { private?: unknown }).private === true ? { private: true } : {}),
  };
  const prev = catalog.models.find((m) => m.id === index.id);
  const models = [...catalog.models.filter((m) => m.id !== index.id), prev ? { ...prev, ...entry } : entry].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const catalogDoc = { ...catalog, schema: 'webinfer.catalog/v1' as const, models };
  const cat = check(Catalog, catalogDoc);
  if (!cat.ok) throw new RegistryStoreError(`catalogue would be invalid: ${cat.issues.join('; ')}`, 'INVALID');
  await store.writeJsonAtomic(paths.catalog(), catalogDoc);
}

/**
 * Commits a version whose blobs are already in the store: under the lock, re-checks that the
 * version is new and that every blob it references exists (code `MISSING_BLOBS` otherwise), then
 * writes the manifest (exclusively), the model index and the catalogue, in that order.
 *
 * @example
 * // every blob the manifest names is already in the store (e.g. uploaded to the service)
 * await commitVersion(new RegistryStore('.registry'), manifestDoc, { aliases: ['stable'] });
 */
export async function commitVersion(
  store: RegistryStore,
  doc: Record<string, unknown>,
  opts: CommitOptions = {},
): Promise<{ manifest: Manifest; index: ModelIndex; etag: string; written: string[] }> {
  const checked = check(Manifest, doc);
  const issues = checked.ok ? manifestProblems(checked.value) : checked.issues;
  if (!checked.ok || issues.length > 0) {
    throw new RegistryStoreError(`manifest is invalid: ${issues.join('; ')}`, 'INVALID');
  }
  const manifest = checked.value;
  const { id, version } = manifest;
  const aliases = [...new Set(opts.aliases ?? [])];
  assertAliases(aliases);
  const now = opts.now ?? new Date().toISOString();
  return store.withLock(async () => {
    // Under the lock, so that gc (which holds it too) cannot remove a blob between this check and the manifest.
    const missing: string[] = [];
    for (const variant of Object.values(manifest.variants)) {
      for (const f of (variant as { files: FileEntry[] }).files) {
        if (!(await store.hasBlob(f.sha256, f.size))) missing.push(`${f.path} (${f.sha256})`);
      }
    }
    if (missing.length > 0) {
      throw new RegistryStoreError(`${id}@${version} references blobs that are not in the registry: ${missing.join(', ')}`, 'MISSING_BLOBS');
    }
    const before = await store.readIndex(id);
    checkIndexFor(before, manifest);
    if (before !== undefined && opts.private === true && (before as { private?: unknown }).private !== true) {
      // Its versions have been public (served, exported, cached by CDNs): a flag on one more version cannot take that back.
      throw new RegistryStoreError(`${id} is a public model: private applies to a model's first version only, and ${id} has ${before.versions.length} public version(s)`, 'CONFLICT');
    }
    // A manifest whose version is not in the index was left by a publish killed between its
    // manifest and its index write: never acknowledged nor resolvable, so it is replaced.
    const orphanManifest = await store.exists(paths.manifest(id, version));

    const size = manifest.variants.float32.files.reduce((s, f) => s + f.size, 0);
    const versions: VersionEntry[] = [...(before?.versions ?? []), { version, publishedAt: now, yanked: false, size }].sort((a, b) =>
      compareSemver(a.version, b.version),
    );
    const aliasMap: Record<string, string> = { ...(before?.aliases ?? {}) };
    const history: Record<string, Array<{ version: string; at: string }>> = {};
    for (const [k, h] of Object.entries(before?.history ?? {})) history[k] = [...h];
    const setAlias = (alias: string, target: string): void => {
      if (aliasMap[alias] === target) return;
      aliasMap[alias] = target;
      (history[alias] ??= []).push({ version: target, at: now });
    };
    for (const a of aliases) if (a !== 'latest') setAlias(a, version);
    const latest = highestLive(versions);
    if (latest !== undefined) setAlias('latest', latest);

    const description = latest === version || before === undefined ? (manifest.description ?? before?.description) : before.description;
    const keyStore = new KeyStore(store.root);
    const keyEntries = await keyStore.indexEntries();
    const indexDoc = {
      ...(before ?? {}),
      schema: 'webinfer.model-index/v1' as const,
      id,
      task: manifest.task,
      ...(description !== undefined ? { description } : {}),
      ...(before === undefined && opts.private ? { private: true } : {}),
      versions,
      aliases: byKey(aliasMap),
      history: byKey(history),
      ...(keyEntries.length > 0 ? { keys: keyEntries } : {}),
    };
    const idx = check(ModelIndex, indexDoc);
    if (!idx.ok) throw new RegistryStoreError(`index of ${id} would be invalid: ${idx.issues.join('; ')}`, 'INVALID');

    // Manifest first (exclusive), then the documents that point at it.
    if (orphanManifest) await store.writeJsonAtomic(paths.manifest(id, version), doc);
    else await store.createJsonExclusive(paths.manifest(id, version), doc);
    // Signatures of the manifest's exact bytes by every live key of the root (none without keys), before the index.
    const manifestBytes = Buffer.from(toJsonText(doc));
    const signatures = await keyStore.sign(manifestBytes);
    if (signatures.length > 0) {
      await store.writeJsonAtomic(paths.signatures(id, version), { schema: 'webinfer.signatures/v1', manifest: sha256Sri(manifestBytes), signatures });
    }
    await store.writeJsonAtomic(paths.index(id), indexDoc);
    await writeCatalogEntry(store, idx.value);
    return {
      manifest,
      index: idx.value,
      etag: etagOf(Buffer.from(toJsonText(indexDoc))),
      written: [paths.manifest(id, version), ...(signatures.length > 0 ? [paths.signatures(id, version)] : []), paths.index(id), paths.catalog()],
    };
  }, opts.lock);
}

/**
 * Options of {@link publishPrepared}.
 *
 * @example
 * await publishPrepared(store, prepared, { private: true, lock: { timeoutMs: 2000 } });
 */
export interface PublishPreparedOptions {
  /** Mark a new model private (reads need a `read` token on the service; `export` leaves it out). */
  private?: boolean;
  /** Called (and awaited) for every chunk of every blob, then once before the commit. */
  onProgress?: (p: PublishProgress) => void | Promise<void>;
  lock?: LockOptions;
}

/**
 * Stores a prepared version in a filesystem registry: refuses early (writing nothing) when the
 * version exists, copies every file into the blob store (hashing while copying), then commits
 * the manifest, the index and the catalogue under the lock. `LocalRegistry.publish` and
 * {@link publish} both end here.
 *
 * @example
 * const prepared = await prepareVersion({ modelDir: 'models/tiny-cnn', id: 'tiny-cnn', version: '1.0.0', card: 'models/tiny-cnn/card.json' });
 * const r = await publishPrepared(new RegistryStore('.registry'), prepared);
 * r.index.aliases;   // { latest: '1.0.0' }
 */
export async function publishPrepared(store: RegistryStore, prepared: PreparedVersion, opts: PublishPreparedOptions = {}): Promise<PublishResult> {
  const { id, version, manifest } = prepared;
  await checkPublishable(store, manifest);

  const written: string[] = [];
  const onProgress = opts.onProgress;
  for (const f of prepared.files) {
    const had = await store.exists(paths.blob(f.sha256));
    const put = await store.putBlobFile(f.abs, onProgress ? { onProgress: (loaded) => onProgress({ phase: 'blob', file: f.path, sha256: f.sha256, loaded, total: f.size }) } : {});
    if (put.sha256 !== f.sha256 || put.size !== f.size) {
      throw new RegistryStoreError(`${f.abs} changed while publishing`, 'CONFLICT');
    }
    if (!had) written.push(paths.blob(put.sha256));
  }
  await onProgress?.({ phase: 'commit', id, version });
  const r = await commitVersion(store, prepared.doc, {
    aliases: prepared.aliases,
    now: prepared.now,
    ...(opts.private !== undefined ? { private: opts.private } : {}),
    ...(opts.lock ? { lock: opts.lock } : {}),
  });
  return { id, version, manifest: r.manifest, index: r.index, etag: r.etag, uploaded: written.length, written: [...written, ...r.written] };
}

/**
 * Publishes a model directory as `id@version`: hashes and stores every file as a blob,
 * writes the (immutable) manifest, then updates the model's index and the catalogue
 * under the registry lock. Re-publishing an existing version is refused and changes nothing.
 * The same as `prepareVersion` then `new LocalRegistry(root).publish(prepared)`.
 *
 * @example
 * await publish({ modelDir: 'models/tiny-cnn', root: '.registry', id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: 'models/tiny-cnn/card.json' });
 */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const prepared = await prepareVersion(opts);
  try {
    return await publishPrepared(new RegistryStore(opts.root), prepared, {
      ...(opts.private !== undefined ? { private: opts.private } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.lock ? { lock: opts.lock } : {}),
    });
  } finally {
    await prepared.dispose();
  }
}
