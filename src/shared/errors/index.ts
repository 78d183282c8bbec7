/** The one error hierarchy of webinfer: every class here crosses the worker boundary as itself. */
export { WebInferError } from './base.js';
export { ModelNotFoundError } from './model-not-found.js';
export { IntegrityError } from './integrity.js';
export { BackendUnavailableError } from './backend-unavailable.js';
export { InvalidInputError } from './invalid-input.js';
export { TaskMismatchError } from './task-mismatch.js';
export { WorkerCrashedError } from './worker-crashed.js';
export { AbortError } from './abort.js';
export { TimeoutError } from './timeout.js';
export { RegistryUnavailableError } from './registry-unavailable.js';
export { ManifestError, type ManifestErrorReason } from './manifest.js';
export { QuotaExceededError } from './quota-exceeded.js';
export { ModelDisposedError } from './model-disposed.js';
export { isWebInferError, serializeError, deserializeError, type SerializedError, type AnyWebInferError } from './serialize.js';
