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
} from '../registry/schema.js';
import { compareSemver, paths } from '../registry/refs.js';
import { assertId, assertVersion, RegistryStore, RegistryStoreError, type LockOptions } from './store.js';

/** The fields a model card (JSON) may carry; they are copied into the manifest. */
export const CARD_FIELDS = ['task', 'description', 'labels', 'preprocess', 'output', 'outputName', 'license', 'source', 'metrics', 'format'] as const;

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
  /** gpt2-safetensors: largest chunk of `model.safetensors` (default 32 MiB); bigger files are split. */
  chunkBytes?: number;
  /** Timestamp of the publication (tests). Default: now. */
  now?: Date;
  lock?: LockOptions;
}

export interface PublishResult {
  id: string;
  version: string;
  manifest: Manifest;
  index: ModelIndex;
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

/** The files of a Hugging Face GPT-2 directory, as `gpt2-safetensors`. */
export const GPT2_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'] as const;

/**
 * Reads a Hugging Face-style GPT-2 directory (`config.json`, `tokenizer.json`,
 * `model.safetensors`). `model.safetensors` larger than `chunkBytes` is listed as
 * chunks `model.safetensors.part-00000-of-00003`, … in order; the worker joins them.
 */
export async function readGpt2Dir(modelDir: string, chunkBytes = MAX_CHUNK_BYTES): Promise<ModelFiles> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RegistryStoreError(`chunkBytes must be an integer in 1…${MAX_CHUNK_BYTES}`, 'INVALID');
  }
  const files: ModelFiles['files'] = [];
  for (const name of GPT2_FILES) {
    const abs = path.join(modelDir, name);
    const st = await fs.stat(abs).catch(() => undefined);
    if (!st?.isFile()) throw new RegistryStoreError(`${abs} is missing (a gpt2-safetensors model needs ${GPT2_FILES.join(', ')})`, 'NOT_FOUND');
    if (name !== 'model.safetensors' || st.size <= chunkBytes) {
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
  for (const name of ['config.json', 'tokenizer.json']) {
    try {
      JSON.parse(await fs.readFile(path.join(modelDir, name), 'utf8'));
    } catch (e) {
      throw new RegistryStoreError(`${path.join(modelDir, name)} is not valid JSON: ${(e as Error).message}`, 'INVALID', { cause: e });
    }
  }
  return { format: 'gpt2-safetensors', entry: 'config.json', files };
}

/** True when `modelDir` looks like a Hugging Face GPT-2 directory. */
export async function isGpt2Dir(modelDir: string): Promise<boolean> {
  const found = await Promise.all(GPT2_FILES.map((n) => fs.stat(path.join(modelDir, n)).then((s) => s.isFile(), () => false)));
  return found.every(Boolean);
}

/** Reads the byte range of a chunk (or the whole file). */
async function readRange(f: ModelFiles['files'][number]): Promise<Buffer> {
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

/** Detects the tfjs format of a model JSON (`model.json` contents). */
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

/** Finds the model JSON and weight shards of a tfjs model directory. */
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

/** Highest non-yanked version, by SemVer precedence. */
export function highestLive(versions: readonly VersionEntry[]): string | undefined {
  return versions
    .filter((e) => !e.yanked)
    .map((e) => e.version)
    .sort(compareSemver)
    .at(-1);
}

/**
 * Publishes a model directory as `id@version`: hashes and stores every file as a blob,
 * writes the (immutable) manifest, then updates the model's index and the catalogue
 * under the registry lock. Re-publishing an existing version is refused and changes nothing.
 */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const { id, version } = opts;
  assertId(id);
  assertVersion(version);
  const aliases = [...new Set(opts.aliases ?? [])];
  for (const a of aliases) {
    if (!ALIAS_RE.test(a)) throw new RegistryStoreError(`invalid alias "${a}" (lower-case letter first, then letters, digits, '-')`, 'INVALID');
  }
  const now = (opts.now ?? new Date()).toISOString();
  const card = await loadCard(opts.card);
  const model = opts.entry === undefined && (await isGpt2Dir(opts.modelDir)) ? await readGpt2Dir(opts.modelDir, opts.chunkBytes) : await readModelDir(opts.modelDir, opts.entry);
  if (card.format !== undefined && card.format !== model.format) {
    throw new RegistryStoreError(`card says format "${String(card.format)}" but ${model.entry} is ${model.format}`, 'INVALID');
  }
  const files = await describeFiles(model.files);

  const { format: _cardFormat, ...cardRest } = card;
  const draft: Record<string, unknown> = {
    schema: 'webinfer.manifest/v1',
    id,
    version,
    ...cardRest,
    ...(opts.task !== undefined ? { task: opts.task } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    format: model.format,
    createdAt: now,
    variants: { float32: { entry: model.entry, files } },
  };
  // Stable key order in the written document.
  const order = ['schema', 'id', 'version', 'task', 'format', 'description', 'createdAt', 'license', 'source', 'labels', 'preprocess', 'output', 'outputName', 'metrics', 'variants'];
  const doc: Record<string, unknown> = {};
  for (const k of order) if (draft[k] !== undefined) doc[k] = draft[k];
  for (const k of Object.keys(draft)) if (!(k in doc) && draft[k] !== undefined) doc[k] = draft[k];

  const checked = check(Manifest, doc);
  const issues = checked.ok ? manifestProblems(checked.value) : checked.issues;
  if (!checked.ok || issues.length > 0) {
    throw new RegistryStoreError(`manifest for ${id}@${version} is invalid: ${issues.join('; ')}`, 'INVALID');
  }
  const manifest = checked.value;

  const store = new RegistryStore(opts.root);
  const exists = (): Promise<boolean> => store.exists(paths.manifest(id, version));
  const refuse = (): RegistryStoreError =>
    new RegistryStoreError(`${id}@${version} is already published; versions are immutable, publish a new version`, 'EXISTS');
  const checkIndex = (index: ModelIndex | undefined): void => {
    if (index?.versions.some((e) => e.version === version)) throw refuse();
    if (index && index.task !== manifest.task) {
      throw new RegistryStoreError(`${id} is a ${index.task} model; cannot publish ${version} as ${manifest.task}`, 'CONFLICT');
    }
  };
  // Early, lock-free checks so that a refused publish writes nothing at all (not even blobs).
  if (await exists()) throw refuse();
  checkIndex(await store.readIndex(id));

  const written: string[] = [];
  for (const f of model.files) {
    const expected = files.find((e) => e.path === f.path)!;
    const had = await store.exists(paths.blob(expected.sha256));
    const put = f.start !== undefined ? await store.putBlobBytes(await readRange(f)) : await store.putBlobFile(f.abs);
    if (put.sha256 !== expected.sha256 || put.size !== expected.size) {
      throw new RegistryStoreError(`${f.abs} changed while publishing`, 'CONFLICT');
    }
    if (!had) written.push(paths.blob(put.sha256));
  }

  return store.withLock(async () => {
    const before = await store.readIndex(id);
    if (await exists()) throw refuse();
    checkIndex(before);

    const size = files.reduce((s, f) => s + f.size, 0);
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

    const sortedAliases = Object.fromEntries(Object.entries(aliasMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const sortedHistory = Object.fromEntries(Object.entries(history).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const description = latest === version || before === undefined ? (manifest.description ?? before?.description) : before.description;
    const indexDoc = {
      ...(before ?? {}),
      schema: 'webinfer.model-index/v1' as const,
      id,
      task: manifest.task,
      ...(description !== undefined ? { description } : {}),
      versions,
      aliases: sortedAliases,
      history: sortedHistory,
    };
    const idx = check(ModelIndex, indexDoc);
    if (!idx.ok) throw new RegistryStoreError(`index of ${id} would be invalid: ${idx.issues.join('; ')}`, 'INVALID');

    const catalog = (await store.readCatalog()) ?? { schema: 'webinfer.catalog/v1' as const, models: [] };
    const entry: CatalogEntry = {
      id,
      task: manifest.task,
      ...(description !== undefined ? { description } : {}),
      aliases: sortedAliases,
      versions: versions.filter((e) => !e.yanked).map((e) => e.version),
    };
    const prev = catalog.models.find((m) => m.id === id);
    const models = [...catalog.models.filter((m) => m.id !== id), prev ? { ...prev, ...entry } : entry].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const catalogDoc = { ...catalog, schema: 'webinfer.catalog/v1' as const, models };
    const cat = check(Catalog, catalogDoc);
    if (!cat.ok) throw new RegistryStoreError(`catalogue would be invalid: ${cat.issues.join('; ')}`, 'INVALID');

    // Manifest first (exclusive), then the documents that point at it.
    await store.createJsonExclusive(paths.manifest(id, version), doc);
    await store.writeJsonAtomic(paths.index(id), indexDoc);
    await store.writeJsonAtomic(paths.catalog(), catalogDoc);
    written.push(paths.manifest(id, version), paths.index(id), paths.catalog());
    return { id, version, manifest, index: idx.value, written };
  }, opts.lock);
}
