/**
 * Reference resolution shared by every `Registry` implementation: the protocol's rules
 * (`resolveVersion` in `webinfer/protocol`) with its errors turned into the registry's typed set.
 *
 * @example
 * const r = await resolveWith('tiny-cnn@stable', (id) => registry.index(id), (id, v) => registry.manifest(id, v));
 * r.version;   // '1.0.0'
 */
import { InvalidInputError, ModelNotFoundError, parseRef, resolveVersion, type Manifest, type ModelRef } from 'webinfer/protocol';
import type { IndexWithEtag, Resolved } from './registry.js';
import { RegistryStoreError } from './store.js';

/**
 * Parses a reference, as `INVALID` (a {@link RegistryStoreError}) when malformed.
 *
 * @example
 * toRef('tiny-cnn@1.2.0');   // { id: 'tiny-cnn', kind: 'version', version: '1.2.0' }
 */
export function toRef(ref: string | ModelRef): ModelRef {
  if (typeof ref !== 'string') return ref;
  try {
    return parseRef(ref);
  } catch (e) {
    if (e instanceof InvalidInputError) throw new RegistryStoreError(e.message, 'INVALID', { cause: e });
    throw e;
  }
}

/**
 * Resolves a reference with the given index and manifest readers; the protocol's
 * `ModelNotFoundError` becomes `NOT_FOUND` with the same message.
 *
 * @example
 * await resolveWith('tiny-cnn@9.9.9', readIndex, readManifest);   // rejects: NOT_FOUND 'model "tiny-cnn" has no version 9.9.9'
 */
export async function resolveWith(
  ref: string | ModelRef,
  readIndex: (id: string) => Promise<IndexWithEtag>,
  readManifest: (id: string, version: string) => Promise<Manifest>,
): Promise<Resolved> {
  const r = toRef(ref);
  const { index } = await readIndex(r.id);
  let version: string;
  try {
    version = resolveVersion(index, r);
  } catch (e) {
    if (e instanceof ModelNotFoundError) throw new RegistryStoreError(e.message, 'NOT_FOUND', { cause: e });
    throw e;
  }
  return { id: r.id, version, manifest: await readManifest(r.id, version) };
}
