/**
 * `@webinfer/registry`: the Node side of the webinfer model registry (protocol v1, defined
 * once in `webinfer/protocol`). The `webinfer-registry` CLI is built on these exports.
 *
 * The entry point is the {@link Registry} interface, opened with {@link openRegistry}: a
 * {@link LocalRegistry} (a directory) or a {@link RemoteRegistry} (the service, or — reads
 * only — any static host serving the tree). The lower layers (store, ops, publisher) stay
 * exported for tools that need them.
 *
 * @example
 * import { openRegistry, prepareVersion, startRegistryServer } from '@webinfer/registry';
 * const registry = openRegistry({ root: './registry' });
 * await registry.publish(await prepareVersion({ modelDir: './my-model', id: 'my-model', version: '1.0.0', aliases: ['stable'], card: './card.json' }));
 * const service = await startRegistryServer({ root: './registry', port: 8080 });
 * console.log(service.url); // 'http://127.0.0.1:8080'
 */
export {
  openRegistry,
  type Registry,
  type ReadableRegistry,
  type RegistryLocation,
  type IndexWithEtag,
  type Resolved,
  type PublishVersionOptions,
  type PublishedVersion,
  type IfMatch,
  type YankOptions,
  type IndexChange,
  type GcOptions,
  type ExportOptions,
  type ExportResult,
} from './registry.js';
export { LocalRegistry, type LocalRegistryOptions } from './local.js';
export { RemoteRegistry, RemoteError, errorCodeOf } from './remote.js';
export {
  publish,
  publishPrepared,
  prepareVersion,
  commitVersion,
  readModelDir,
  detectFormat,
  quantizedDtypes,
  type PublishOptions,
  type PublishPreparedOptions,
  type PublishResult,
  type PreparedVersion,
  type PublishProgress,
} from './publish.js';
export {
  RegistryStore,
  RegistryStoreError,
  type RegistryErrorCode,
  type RegistryStoreErrorCode,
  type PutBlobFileOptions,
  type PutBlobOptions,
  type BlobRef,
  type LockOptions,
} from './store.js';
export { moveAlias, rollbackAlias, yankVersion, gc, verifyRegistry, repairRegistry, exportStatic, type GcResult, type MutateResult, type RepairResult } from './ops.js';
export { TokenStore, SCOPES, type Scope, type TokenRecord } from './tokens.js';
export { quantizeModel, QUANTIZED_DTYPES, type QuantizedDtype } from './quantize.js';
export { startRegistryServer, type StartOptions, type RunningRegistry } from './server/serve.js';
export { createRegistryApp, type RegistryServiceOptions } from './server/app.js';
export { KeyStore, verifySignature, type KeyRecord } from './keys.js';
