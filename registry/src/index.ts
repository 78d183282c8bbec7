/**
 * `@webinfer/registry`: the Node side of the webinfer model registry (protocol v1, defined
 * once in `webinfer/protocol`). The `webinfer-registry` CLI is built on these exports.
 *
 * @example
 * import { publish, startRegistryServer } from '@webinfer/registry';
 * await publish({ root: './registry', modelDir: './my-model', id: 'my-model', version: '1.0.0', aliases: ['stable'], card: './card.json' });
 * const service = await startRegistryServer({ root: './registry', port: 8080 });
 * console.log(service.url); // 'http://127.0.0.1:8080'
 */
export { publish, prepareVersion, commitVersion, readModelDir, detectFormat, type PublishOptions, type PublishResult, type PreparedVersion, type PublishProgress } from './publish.js';
export { RegistryStore, RegistryStoreError, type RegistryStoreErrorCode } from './store.js';
export { moveAlias, rollbackAlias, yankVersion, gc, verifyRegistry, exportStatic, type GcResult, type MutateResult } from './ops.js';
export { RemoteRegistry, RemoteError } from './remote.js';
export { TokenStore, SCOPES, type Scope, type TokenRecord } from './tokens.js';
export { quantizeModel, QUANTIZED_DTYPES, type QuantizedDtype } from './quantize.js';
export { startRegistryServer, type StartOptions, type RunningRegistry } from './server/serve.js';
export { createRegistryApp, type RegistryServiceOptions } from './server/app.js';
