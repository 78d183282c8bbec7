/**
 * webinfer: in-page inference in a Web Worker, on TensorFlow.js, with models from a
 * versioned registry, downloaded once, verified byte for byte and cached.
 *
 * The public surface, listed by name. The main-thread entry holds no tfjs: it lives
 * in the worker chunk.
 *
 * @example
 * import { createClient } from 'webinfer';
 * const client = createClient({ registry: 'https://models.example.com' });
 * const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
 * const top = await model.classify(imageElement, { topK: 3 });
 */
export { createClient, type WebInferClient } from './client.js';
export { Classifier } from './handles/classifier.js';
export { TextGenerator } from './handles/text-generator.js';
export { ImageGenerator, drawImage, toImageData } from './handles/image-generator.js';
export { TextClassifier } from './handles/text-classifier.js';
export { Embedder } from './handles/embedder.js';
export type {
  AdapterInfo,
  BackendFallback,
  AnyModel,
  BackendInfo,
  BackendName,
  BackendPreference,
  BatchingOptions,
  BatchStats,
  ChatMessage,
  ClassifyOptions,
  ClientOptions,
  Dtype,
  DtypePreference,
  FinishReason,
  GenerateChunk,
  GenerateOptions,
  GenerateResult,
  GenerationStream,
  ImageInput,
  LoadOptions,
  LoadProgress,
  MemoryInfo,
  ModelInfo,
  ModelsByTask,
  Prediction,
  RawPixels,
  TaskName,
  WasmPaths,
  TextClassifyOptions,
  EmbedOptions,
} from './types.js';
export {
  WebInferError,
  AbortError,
  BackendUnavailableError,
  IntegrityError,
  InvalidInputError,
  ManifestError,
  type ManifestErrorReason,
  ModelDisposedError,
  ModelNotFoundError,
  QuotaExceededError,
  RegistryUnavailableError,
  TaskMismatchError,
  TimeoutError,
  WorkerCrashedError,
  isWebInferError,
  type AnyWebInferError,
} from './shared/errors/index.js';
export { parseRef, type ModelRef } from './shared/registry/refs.js';
export type { GeneratedImage, GeneratedImages, GeneratorInfo, GenerateImagesOptions, ImageCallOptions, InterpolateOptions, Interpolation, Latent } from './types.js';
