/**
 * Model references (`id`, `id@alias`, `id@1.2.0`), alias resolution and the
 * URL layout of registry protocol v1. Pure functions, shared by the worker and
 * the Node tools.
 */
import { InvalidInputError } from '../errors/invalid-input.js';
import { ModelNotFoundError } from '../errors/model-not-found.js';
import { ALIAS_RE, MODEL_ID_RE, SEMVER_RE, SHA256_RE } from './patterns.js';
import type { ModelIndex } from './schema.js';

/** A parsed model reference. */
export type ModelRef =
  | { readonly id: string; readonly kind: 'default' }
  | { readonly id: string; readonly kind: 'alias'; readonly alias: string }
  | { readonly id: string; readonly kind: 'version'; readonly version: string };

/**
 * Parses `id`, `id@alias` or `id@version`.
 *
 * @example
 * parseRef('fashion-mnist-cnn@stable'); // { id: 'fashion-mnist-cnn', kind: 'alias', alias: 'stable' }
 * parseRef('fashion-mnist-cnn@1.2.0');  // { id: 'fashion-mnist-cnn', kind: 'version', version: '1.2.0' }
 * parseRef('fashion-mnist-cnn');        // { id: 'fashion-mnist-cnn', kind: 'default' }
 */
export function parseRef(ref: unknown): ModelRef {
  if (typeof ref !== 'string') {
    throw new InvalidInputError(`model reference must be a string, got ${typeof ref}`, { reason: 'not-a-string', field: 'model' });
  }
  const at = ref.indexOf('@');
  const id = at === -1 ? ref : ref.slice(0, at);
  const selector = at === -1 ? undefined : ref.slice(at + 1);
  if (!MODEL_ID_RE.test(id) || id.includes('..')) {
    throw new InvalidInputError(`invalid model id "${id}" (lower-case letters, digits, '.', '_', '-')`, { reason: 'invalid-id', field: 'model' });
  }
  if (selector === undefined) return { id, kind: 'default' };
  if (SEMVER_RE.test(selector)) return { id, kind: 'version', version: selector };
  if (ALIAS_RE.test(selector)) return { id, kind: 'alias', alias: selector };
  throw new InvalidInputError(`invalid version or alias "${selector}" in "${ref}"`, { reason: 'invalid-selector', field: 'model' });
}

/** Formats a reference back to its string form. */
export function formatRef(ref: ModelRef): string {
  switch (ref.kind) {
    case 'default':
      return ref.id;
    case 'alias':
      return `${ref.id}@${ref.alias}`;
    case 'version':
      return `${ref.id}@${ref.version}`;
  }
}

/**
 * Picks the version a reference means in a model index:
 * a version must exist (yanked versions still resolve when pinned);
 * an alias must exist and point at a version that is not yanked;
 * a bare id means `stable` when set, else `latest`, else the highest non-yanked version.
 *
 * @example
 * resolveVersion(index, parseRef('cnn@stable')); // '1.1.0'
 */
export function resolveVersion(index: ModelIndex, ref: ModelRef): string {
  const byVersion = new Map(index.versions.map((e) => [e.version, e]));
  const pick = (alias: string): string | undefined => {
    // Own keys only: `aliases['constructor']` would otherwise be Object.
    const target = Object.hasOwn(index.aliases, alias) ? index.aliases[alias] : undefined;
    if (target === undefined) return undefined;
    const entry = byVersion.get(target);
    if (!entry) throw new ModelNotFoundError(`alias "${alias}" of "${index.id}" points at unknown version ${target}`, { model: index.id, version: target });
    if (entry.yanked) throw new ModelNotFoundError(`alias "${alias}" of "${index.id}" points at yanked version ${target}`, { model: index.id, version: target });
    return target;
  };
  switch (ref.kind) {
    case 'version': {
      if (!byVersion.has(ref.version)) {
        throw new ModelNotFoundError(`model "${index.id}" has no version ${ref.version}`, { model: index.id, version: ref.version });
      }
      return ref.version;
    }
    case 'alias': {
      const v = pick(ref.alias);
      if (v === undefined) throw new ModelNotFoundError(`model "${index.id}" has no alias "${ref.alias}"`, { model: index.id, version: ref.alias });
      return v;
    }
    case 'default': {
      const v = pick('stable') ?? pick('latest');
      if (v !== undefined) return v;
      const live = index.versions.filter((e) => !e.yanked).map((e) => e.version).sort(compareSemver);
      const highest = live.at(-1);
      if (highest === undefined) throw new ModelNotFoundError(`model "${index.id}" has no published version`, { model: index.id });
      return highest;
    }
  }
}

/**
 * Orders semantic versions (SemVer 2.0.0 precedence, pre-releases before releases).
 *
 * @example
 * ['1.10.0', '1.2.0', '1.2.0-rc.1'].sort(compareSemver); // ['1.2.0-rc.1', '1.2.0', '1.10.0']
 */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER_RE.exec(a);
  const pb = SEMVER_RE.exec(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const ra = pa[4];
  const rb = pb[4];
  if (ra === undefined && rb === undefined) return 0;
  if (ra === undefined) return 1;
  if (rb === undefined) return -1;
  const xa = ra.split('.');
  const xb = rb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const sa = xa[i];
    const sb = xb[i];
    if (sa === undefined) return -1;
    if (sb === undefined) return 1;
    const na = /^\d+$/.test(sa);
    const nb = /^\d+$/.test(sb);
    if (na && nb) {
      const d = Number(sa) - Number(sb);
      if (d !== 0) return d < 0 ? -1 : 1;
    } else if (na !== nb) {
      return na ? -1 : 1;
    } else if (sa !== sb) {
      return sa < sb ? -1 : 1;
    }
  }
  return 0;
}

/** The relative paths of protocol v1, under a registry root. One layout for the service and for static hosting. */
export const paths = {
  catalog: (): string => 'v1/models.json',
  index: (id: string): string => `v1/models/${id}/index.json`,
  manifest: (id: string, version: string): string => `v1/models/${id}/versions/${version}.json`,
  /** The signatures of a version manifest (see `ManifestSignatures`). */
  signatures: (id: string, version: string): string => `v1/models/${id}/versions/${version}.sig.json`,
  blob: (sha256: string): string => {
    if (!SHA256_RE.test(sha256)) throw new InvalidInputError(`invalid sha256 "${sha256}"`, { reason: 'invalid-hash' });
    return `v1/blobs/sha256/${sha256}`;
  },
} as const;

/**
 * Joins a registry base URL (with or without trailing slash, may have a path) and a protocol path.
 *
 * @example
 * registryUrl('https://cdn.example.com/models', paths.catalog()); // 'https://cdn.example.com/models/v1/models.json'
 */
export function registryUrl(base: string, path: string): string {
  return base.endsWith('/') ? base + path : `${base}/${path}`;
}
