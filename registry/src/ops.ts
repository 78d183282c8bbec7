/**
 * Registry writes beyond publishing — alias moves (promote, rollback), yank, garbage
 * collection — plus export of the static tree and a consistency check. Shared by the
 * CLI (local root) and the HTTP service. Every mutation runs under the registry lock and
 * follows the protocol's writer rules (`docs/registry-protocol.md` §8).
 *
 * @example
 * const store = new RegistryStore('.registry');
 * const { etag } = await readIndexWithEtag(store, 'tiny-cnn');
 * await moveAlias(store, 'tiny-cnn', 'stable', '1.1.0', { ifMatch: etag });   // PRECONDITION if it changed meanwhile
 * await rollbackAlias(store, 'tiny-cnn', 'stable');                           // back to 1.0.0
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ALIAS_RE, check, Manifest, ModelIndex, SHA256_RE, type VersionEntry } from 'webinfer/protocol';
import { compareSemver, paths } from 'webinfer/protocol';
import { cardProblems, highestLive, writeCatalogEntry } from './publish.js';
import { assertId, assertVersion, etagOf, RegistryStore, RegistryStoreError, sha256Hex, type LockOptions } from './store.js';
import { ownerState, tempOwner } from './owner.js';

/** `etagOf` lives in store.ts; re-exported here, where tools (bench/registry-load.ts) import it from. */
export { etagOf };

/** True when an `If-Match`/`If-None-Match` header value matches `etag` (`*`, lists, weak prefixes). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === etag || v === `W/${etag}`;
  });
}

/** A model index with the ETag of its current bytes; `NOT_FOUND` when the model does not exist. */
export async function readIndexWithEtag(store: RegistryStore, id: string): Promise<{ index: ModelIndex; etag: string; private: boolean }> {
  assertId(id);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(store.abs(paths.index(id)));
  } catch {
    throw new RegistryStoreError(`model "${id}" not found`, 'NOT_FOUND');
  }
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new RegistryStoreError(`index of ${id} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, 'INVALID', { cause: e });
  }
  const r = check(ModelIndex, data);
  if (!r.ok) throw new RegistryStoreError(`index of ${id} is invalid: ${r.issues.join('; ')}`, 'INVALID');
  return { index: r.value, etag: etagOf(bytes), private: (r.value as { private?: unknown }).private === true };
}

export interface MutateOptions {
  /** Expected ETag of the index (optimistic concurrency): a mismatch changes nothing (`PRECONDITION`). */
  ifMatch?: string;
  /** Timestamp recorded in the alias history. Default: now. */
  now?: string;
  lock?: LockOptions;
}

/**
 * The outcome of an index mutation ({@link moveAlias}, {@link rollbackAlias}, {@link yankVersion}).
 *
 * @example
 * const { index, etag, change } = await moveAlias(store, 'tiny-cnn', 'stable', '1.1.0');
 */
export interface MutateResult {
  index: ModelIndex;
  /** ETag of the index after the change. */
  etag: string;
  /** What changed, e.g. `stable: 1.0.0 -> 1.1.0`. */
  change: string;
}

/** Read-modify-write of one index under the lock, with the If-Match check and catalogue refresh. */
async function mutateIndex(
  store: RegistryStore,
  id: string,
  opts: MutateOptions,
  fn: (index: ModelIndex, now: string) => { doc: Record<string, unknown>; change: string },
): Promise<MutateResult> {
  assertId(id);
  return store.withLock(async () => {
    const { index, etag } = await readIndexWithEtag(store, id);
    if (opts.ifMatch !== undefined && !etagMatches(opts.ifMatch, etag)) {
      throw new RegistryStoreError(`the index of ${id} changed meanwhile (ETag ${etag}, expected ${opts.ifMatch}); re-read it and retry`, 'PRECONDITION');
    }
    const { doc, change } = fn(index, opts.now ?? new Date().toISOString());
    const checked = check(ModelIndex, doc);
    if (!checked.ok) throw new RegistryStoreError(`index of ${id} would be invalid: ${checked.issues.join('; ')}`, 'INVALID');
    await store.writeJsonAtomic(paths.index(id), doc);
    await writeCatalogEntry(store, checked.value);
    const bytes = await fs.readFile(store.abs(paths.index(id)));
    return { index: checked.value, etag: etagOf(bytes), change };
  }, opts.lock);
}

function withAlias(index: ModelIndex, alias: string, version: string, now: string): Record<string, unknown> {
  const history: Record<string, Array<{ version: string; at: string }>> = {};
  for (const [k, h] of Object.entries(index.history)) history[k] = [...h];
  (history[alias] ??= []).push({ version, at: now });
  const sort = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { ...index, aliases: sort({ ...index.aliases, [alias]: version }), history: sort(history) };
}

function assertMovableAlias(alias: string): void {
  if (!ALIAS_RE.test(alias)) throw new RegistryStoreError(`invalid alias "${alias}" (lower-case letter first, then letters, digits, '-')`, 'INVALID');
  if (alias === 'latest') throw new RegistryStoreError('"latest" is maintained by the registry (highest non-yanked version); it cannot be moved', 'INVALID');
}

/**
 * Points `alias` at `version` (promote); the move is appended to the alias history.
 *
 * @example
 * const { etag } = await readIndexWithEtag(store, 'tiny-cnn');
 * await moveAlias(store, 'tiny-cnn', 'stable', '1.1.0', { ifMatch: etag });   // { change: 'stable: 1.0.0 -> 1.1.0', … }
 */
export async function moveAlias(store: RegistryStore, id: string, alias: string, version: string, opts: MutateOptions = {}): Promise<MutateResult> {
  assertMovableAlias(alias);
  assertVersion(version);
  return mutateIndex(store, id, opts, (index, now) => {
    const entry = index.versions.find((e) => e.version === version);
    if (!entry) throw new RegistryStoreError(`${id}@${version} is not published`, 'NOT_FOUND');
    if (entry.yanked) throw new RegistryStoreError(`${id}@${version} is yanked; an alias never points at a yanked version`, 'CONFLICT');
    const before = index.aliases[alias];
    if (before === version) return { doc: { ...index }, change: `${alias}: ${version} (unchanged)` };
    return { doc: withAlias(index, alias, version, now), change: `${alias}: ${before ?? '(none)'} -> ${version}` };
  });
}

/**
 * Moves `alias` back to its previous target: the most recent target in its history that differs
 * from the current one and is not yanked. A second rollback goes forward again (like `cd -`).
 *
 * @example
 * await rollbackAlias(store, 'tiny-cnn', 'stable');   // { change: 'stable: 1.1.0 -> 1.0.0 (rollback)', … }
 */
export async function rollbackAlias(store: RegistryStore, id: string, alias: string, opts: MutateOptions = {}): Promise<MutateResult> {
  assertMovableAlias(alias);
  return mutateIndex(store, id, opts, (index, now) => {
    const current = index.aliases[alias];
    if (current === undefined) throw new RegistryStoreError(`${id} has no alias "${alias}"`, 'NOT_FOUND');
    const live = new Set(index.versions.filter((e) => !e.yanked).map((e) => e.version));
    const previous = [...(index.history[alias] ?? [])].reverse().find((h) => h.version !== current && live.has(h.version))?.version;
    if (previous === undefined) throw new RegistryStoreError(`${id}@${alias} has no previous (non-yanked) target to roll back to`, 'CONFLICT');
    return { doc: withAlias(index, alias, previous, now), change: `${alias}: ${current} -> ${previous} (rollback)` };
  });
}

/**
 * Yanks (or, with `yanked: false`, restores) a version: it stays downloadable when pinned, is left
 * out of the catalogue, and `latest` is recomputed. Refused while another alias points at it.
 *
 * @example
 * await yankVersion(store, 'tiny-cnn', '1.1.0');                    // '1.1.0: yanked'
 * await yankVersion(store, 'tiny-cnn', '1.1.0', { yanked: false });  // '1.1.0: restored'
 */
export async function yankVersion(store: RegistryStore, id: string, version: string, opts: MutateOptions & { yanked?: boolean } = {}): Promise<MutateResult> {
  assertVersion(version);
  const yanked = opts.yanked ?? true;
  return mutateIndex(store, id, opts, (index, now) => {
    const entry = index.versions.find((e) => e.version === version);
    if (!entry) throw new RegistryStoreError(`${id}@${version} is not published`, 'NOT_FOUND');
    if (yanked) {
      const holders = Object.entries(index.aliases).filter(([a, v]) => v === version && a !== 'latest').map(([a]) => a);
      if (holders.length > 0) {
        throw new RegistryStoreError(`${id}@${version} is the target of ${holders.join(', ')}; move or roll back the alias first`, 'CONFLICT');
      }
    }
    const versions: VersionEntry[] = index.versions.map((e) => (e.version === version ? { ...e, yanked } : e));
    const latest = highestLive(versions);
    let doc: Record<string, unknown> = { ...index, versions };
    if (latest !== undefined && latest !== index.aliases['latest']) doc = { ...withAlias(index, 'latest', latest, now), versions };
    if (latest === undefined && index.aliases['latest'] !== undefined) {
      const { latest: _gone, ...rest } = index.aliases;
      doc = { ...doc, aliases: rest };
    }
    return { doc, change: `${version}: ${yanked ? 'yanked' : 'restored'}` };
  });
}

/** Every model id that has an index. */
export async function listModelIds(store: RegistryStore): Promise<string[]> {
  try {
    const names = await fs.readdir(store.abs('v1/models'), { withFileTypes: true });
    return names.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

/** Every manifest of the registry, with its model's privacy. */
export async function listManifests(store: RegistryStore): Promise<Array<{ manifest: Manifest; private: boolean }>> {
  const out: Array<{ manifest: Manifest; private: boolean }> = [];
  for (const id of await listModelIds(store)) {
    const index = await store.readIndex(id).catch(() => undefined);
    const priv = (index as { private?: unknown } | undefined)?.private === true;
    let names: string[] = [];
    try {
      names = await fs.readdir(store.abs(`v1/models/${id}/versions`));
    } catch {
      continue;
    }
    for (const n of names.filter((x) => x.endsWith('.json') && !x.startsWith('.'))) {
      const m = await store.readManifest(id, n.slice(0, -5)).catch(() => undefined);
      if (m) out.push({ manifest: m, private: priv });
    }
  }
  return out;
}

const blobHashes = (m: Manifest): string[] => Object.values(m.variants).flatMap((v) => (v as { files: Array<{ sha256: string }> }).files.map((f) => f.sha256));

/**
 * What {@link gc} removed (or, in a dry run, would remove).
 *
 * @example
 * const { temp, orphans, bytes } = await gc(store, { minAgeMs: 0 });
 */
export interface GcResult {
  /** Temp files of aborted writes removed (relative paths). */
  temp: string[];
  /** Blobs no manifest references, removed. */
  orphans: string[];
  bytes: number;
}

/**
 * Removes leftovers of aborted writes (`.tmp-*` files) and blobs that no manifest references,
 * older than `minAgeMs` (default one hour), under the lock. A temp file whose writer (named in the file
 * name: pid and machine) still runs is a write in progress and is never touched, whatever `minAgeMs`.
 *
 * @example
 * const r = await gc(store, { minAgeMs: 0, dryRun: true });   // { temp: [...], orphans: ['v1/blobs/sha256/…'], bytes }
 */
export async function gc(store: RegistryStore, opts: { minAgeMs?: number; dryRun?: boolean; lock?: LockOptions } = {}): Promise<GcResult> {
  const minAgeMs = opts.minAgeMs ?? 3_600_000;
  return store.withLock(async () => {
    const referenced = new Set((await listManifests(store)).flatMap((m) => blobHashes(m.manifest)));
    const result: GcResult = { temp: [], orphans: [], bytes: 0 };
    const cutoff = Date.now() - minAgeMs;
    let entries;
    try {
      entries = await fs.readdir(store.abs('v1'), { recursive: true, withFileTypes: true });
    } catch {
      return result;
    }
    const blobDir = store.abs('v1/blobs/sha256');
    for (const e of entries) {
      if (!e.isFile()) continue;
      const abs = path.join(e.parentPath, e.name);
      const isTemp = e.name.startsWith('.tmp-');
      const isOrphan = !isTemp && e.parentPath === blobDir && SHA256_RE.test(e.name) && !referenced.has(e.name);
      if (!isTemp && !isOrphan) continue;
      // A temp file of a process that still runs is a write in progress (an upload): never touched.
      if (isTemp && ownerState(tempOwner(e.name)) === 'alive') continue;
      const st = await fs.stat(abs).catch(() => undefined);
      if (!st || st.mtimeMs > cutoff) continue;
      if (!opts.dryRun) await fs.unlink(abs).catch(() => undefined);
      result.bytes += st.size;
      (isTemp ? result.temp : result.orphans).push(path.relative(store.root, abs).split(path.sep).join('/'));
    }
    return result;
  }, opts.lock);
}

/**
 * Checks that the registry is consistent: every document valid, every indexed version has its
 * manifest, every manifest's blobs exist with the right size and SHA-256, aliases point at
 * indexed versions. Returns the problems (empty when consistent). Reads only.
 *
 * @example
 * await verifyRegistry(new RegistryStore('.registry'));   // [] when consistent
 */
export async function verifyRegistry(store: RegistryStore, opts: { hashBlobs?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<string, boolean>();
  for (const id of await listModelIds(store)) {
    let index: ModelIndex | undefined;
    try {
      index = await store.readIndex(id);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (!index) continue; // a model directory whose index was never written (crash before the index): not visible
    for (const [a, v] of Object.entries(index.aliases)) {
      if (!index.versions.some((e) => e.version === v)) problems.push(`${id}: alias ${a} points at ${v}, which is not in the index`);
    }
    for (const e of index.versions) {
      let m: Manifest | undefined;
      try {
        m = await store.readManifest(id, e.version);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      if (!m) {
        problems.push(`${id}@${e.version} is in the index but its manifest is missing`);
        continue;
      }
      for (const v of Object.values(m.variants)) {
        for (const f of (v as { files: Array<{ path: string; size: number; sha256: string }> }).files) {
          const key = `${f.sha256}:${f.size}`;
          if (!seen.has(key)) {
            let ok = await store.hasBlob(f.sha256, f.size);
            if (ok && opts.hashBlobs !== false) ok = sha256Hex(await fs.readFile(store.abs(paths.blob(f.sha256)))) === f.sha256;
            seen.set(key, ok);
          }
          if (!seen.get(key)) problems.push(`${id}@${e.version}: blob ${f.sha256} (${f.path}) is missing or corrupt`);
        }
      }
      // The card against the model, as publish checks it (versions published before that check, or written by hand).
      if (m.format === 'tfjs-layers' || m.format === 'tfjs-graph') {
        const entry = m.variants.float32.files.find((f) => f.path === m.variants.float32.entry);
        if (entry && seen.get(`${entry.sha256}:${entry.size}`)) {
          try {
            const json = JSON.parse(await fs.readFile(store.abs(paths.blob(entry.sha256)), 'utf8')) as Record<string, unknown>;
            for (const p of cardProblems(m, json)) problems.push(`${id}@${e.version}: the card contradicts the model: ${p}`);
          } catch {
            problems.push(`${id}@${e.version}: ${entry.path} is not JSON`);
          }
        }
      }
    }
  }
  return problems;
}

/**
 * What {@link repairRegistry} did.
 *
 * @example
 * const r = await repairRegistry(store, { from: ['models/tiny-cnn'] });
 * // { repaired: ['a3f…'], quarantined: ['a3f…'], missing: [] }
 */
export interface RepairResult {
  /** Blobs put back with the right bytes (found in `from`). */
  repaired: string[];
  /** Corrupt blobs moved out of the tree into `{root}/.webinfer/quarantine/` (never served again). */
  quarantined: string[];
  /** Blobs still missing: re-upload them (`PUT /v1/blobs/sha256/{hash}`, or publish the model again). */
  missing: string[];
}

/**
 * Repairs the blobs that {@link verifyRegistry} finds missing or corrupt: a corrupt blob is moved into
 * `{root}/.webinfer/quarantine/` (so it is a 404, never wrong bytes, and a re-upload stores the right ones),
 * then every file under the `from` directories (a model directory, an exported tree, a backup) whose
 * size and SHA-256 match a missing blob is put in its place. Under the lock.
 *
 * @example
 * await repairRegistry(new RegistryStore('.registry'), { from: ['backup/'] });
 */
export async function repairRegistry(store: RegistryStore, opts: { from?: readonly string[]; lock?: LockOptions } = {}): Promise<RepairResult> {
  return store.withLock(async () => {
    const wanted = new Map<string, number>();
    for (const { manifest } of await listManifests(store)) {
      for (const v of Object.values(manifest.variants)) for (const f of (v as { files: Array<{ size: number; sha256: string }> }).files) wanted.set(f.sha256, f.size);
    }
    const result: RepairResult = { repaired: [], quarantined: [], missing: [] };
    const quarantine = store.abs('.webinfer/quarantine');
    const need = new Map<string, number>();
    for (const [h, size] of wanted) {
      if ((await store.hasBlob(h, size)) && (await store.blobIntact(h))) continue;
      if (await fs.stat(store.abs(paths.blob(h))).then(() => true, () => false)) {
        await fs.mkdir(quarantine, { recursive: true });
        await fs.rename(store.abs(paths.blob(h)), path.join(quarantine, `${h}-${Date.now()}`));
        result.quarantined.push(h);
      }
      need.set(h, size);
    }
    for (const dir of opts.from ?? []) {
      if (need.size === 0) break;
      const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (!e.isFile()) continue;
        const file = path.join(e.parentPath, e.name);
        const st = await fs.stat(file).catch(() => undefined);
        if (!st || ![...need.values()].includes(st.size)) continue;
        const h = await hashFile(file);
        if (need.get(h) !== st.size) continue;
        await store.putBlobFile(file, { sha256: h, size: st.size });
        need.delete(h);
        result.repaired.push(h);
      }
    }
    result.missing = [...need.keys()];
    return result;
  }, opts.lock);
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Writes the static tree of a registry into `out` (protocol v1, ready for nginx, an object store
 * or a CDN): the catalogue, every public model's index and manifests, and the blobs they reference
 * (re-hashed while copying). Private models are left out unless `includePrivate`.
 *
 * @example
 * await exportStatic(new RegistryStore('.registry'), './www');   // { models: 1, manifests: 2, blobs: 2, bytes: 29087 }
 */
export async function exportStatic(store: RegistryStore, out: string, opts: { includePrivate?: boolean } = {}): Promise<{ models: number; manifests: number; blobs: number; bytes: number }> {
  const dest = new RegistryStore(out);
  if (path.resolve(out) === store.root) throw new RegistryStoreError('export --out must differ from the registry root', 'INVALID');
  const catalog = await store.readCatalog();
  const ids = (await listModelIds(store)).filter((id) => catalog?.models.some((m) => m.id === id));
  let manifests = 0;
  let blobs = 0;
  let bytes = 0;
  const kept: string[] = [];
  const copied = new Set<string>();
  for (const id of ids) {
    const index = await store.readIndex(id);
    if (!index || ((index as { private?: unknown }).private === true && !opts.includePrivate)) continue;
    kept.push(id);
    for (const e of [...index.versions].sort((a, b) => compareSemver(a.version, b.version))) {
      const m = await store.readManifest(id, e.version);
      if (!m) throw new RegistryStoreError(`${id}@${e.version}: manifest missing`, 'NOT_FOUND');
      for (const h of blobHashes(m)) {
        if (copied.has(h)) continue;
        const r = await dest.putBlobFile(store.abs(paths.blob(h)));
        if (r.sha256 !== h) throw new RegistryStoreError(`blob ${h} is corrupt in ${store.root} (hashes to ${r.sha256})`, 'HASH_MISMATCH');
        copied.add(h);
        blobs++;
        bytes += r.size;
      }
      await fs.mkdir(path.dirname(dest.abs(paths.manifest(id, e.version))), { recursive: true });
      await fs.copyFile(store.abs(paths.manifest(id, e.version)), dest.abs(paths.manifest(id, e.version)));
      await fs.copyFile(store.abs(paths.signatures(id, e.version)), dest.abs(paths.signatures(id, e.version))).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'ENOENT') throw err; // an unsigned version
      });
      manifests++;
    }
    await dest.writeJsonAtomic(paths.index(id), index);
  }
  const models = (catalog?.models ?? []).filter((m) => kept.includes(m.id));
  await dest.writeJsonAtomic(paths.catalog(), { ...(catalog ?? { schema: 'webinfer.catalog/v1' }), models });
  return { models: kept.length, manifests, blobs, bytes };
}

/** Validates a manifest document for a publish at `id@version` (URL and body must agree). */
export function manifestFor(id: string, version: string, doc: unknown): Record<string, unknown> {
  assertId(id);
  assertVersion(version);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new RegistryStoreError('the manifest must be a JSON object', 'INVALID');
  const r = check(Manifest, doc);
  if (!r.ok) throw new RegistryStoreError(`manifest is invalid: ${r.issues.join('; ')}`, 'INVALID');
  if (r.value.id !== id || r.value.version !== version) {
    throw new RegistryStoreError(`manifest is for ${r.value.id}@${r.value.version}, the URL names ${id}@${version}`, 'INVALID');
  }
  return doc as Record<string, unknown>;
}

/** What {@link resignRegistry} changed. */
export interface ResignResult {
  /** Models whose index now lists the root's keys as they are (revocations included). */
  models: number;
  /** Versions whose signatures document was rewritten (signed by every live key). */
  versions: number;
}

/**
 * Brings every published version's signatures and every index's key list up to the root's keys, under the
 * registry lock: each version manifest's exact bytes are signed by every live key (signatures by revoked keys
 * stay listed, and clients no longer trust them), and each index lists the keys with their revocations — so a
 * client that pins a new key keeps loading old versions, and one that pins a revoked key refuses them
 * (`ManifestError`, reason `revoked-key`). `webinfer-registry keys revoke` runs it; `keys resign` runs it alone.
 * Manifests and blobs are never touched.
 *
 * @example
 * await new KeyStore('.registry').create('next');
 * await new KeyStore('.registry').revoke('release');
 * await resignRegistry(new RegistryStore('.registry'), new KeyStore('.registry')); // { models: 3, versions: 5 }
 */
export async function resignRegistry(
  store: RegistryStore,
  keys: { sign(data: Uint8Array): Promise<Array<{ key: string; sig: string }>>; indexEntries(): Promise<Array<{ key: string; revokedAt?: string }>> },
  opts: { lock?: LockOptions } = {},
): Promise<ResignResult> {
  return store.withLock(async () => {
    const entries = await keys.indexEntries();
    const revoked = new Set(entries.filter((k) => k.revokedAt !== undefined).map((k) => k.key));
    let models = 0;
    let versions = 0;
    for (const id of await listModelIds(store)) {
      const index = await store.readIndex(id).catch(() => undefined);
      if (index === undefined) continue;
      for (const e of index.versions) {
        let bytes: Buffer;
        try {
          bytes = await fs.readFile(store.abs(paths.manifest(id, e.version)));
        } catch {
          continue;
        }
        const sri = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
        const fresh = await keys.sign(bytes);
        let kept: Array<{ key: string; sig: string }> = [];
        try {
          const old = JSON.parse(await fs.readFile(store.abs(paths.signatures(id, e.version)), 'utf8')) as { manifest?: unknown; signatures?: Array<{ key: string; sig: string }> };
          // Old signatures of these same bytes by keys that are now revoked stay listed (they are history, not trust).
          if (old.manifest === sri && Array.isArray(old.signatures)) kept = old.signatures.filter((s) => revoked.has(s.key) && !fresh.some((f) => f.key === s.key));
        } catch {
          /* unsigned so far */
        }
        const signatures = [...kept, ...fresh];
        if (signatures.length === 0) continue;
        await store.writeJsonAtomic(paths.signatures(id, e.version), { schema: 'webinfer.signatures/v1', manifest: sri, signatures });
        versions++;
      }
      const doc = { ...index, ...(entries.length > 0 ? { keys: entries } : {}) };
      const checked = check(ModelIndex, doc);
      if (!checked.ok) throw new RegistryStoreError(`index of ${id} would be invalid: ${checked.issues.join('; ')}`, 'INVALID');
      await store.writeJsonAtomic(paths.index(id), doc);
      await writeCatalogEntry(store, checked.value);
      models++;
    }
    return { models, versions };
  }, opts.lock);
}
