/**
 * Registry protocol v1: the JSON documents, as valibot schemas.
 *
 * One source of truth, used by the worker (every document it fetches is
 * validated before use) and by the Node tools (every document they write is
 * validated before it hits the disk). See `docs/registry-protocol.md`.
 *
 * Unknown fields are kept and ignored (`looseObject`), so a v1 client keeps
 * working when a registry adds fields.
 */
import * as v from 'valibot';

import { DTYPES, FORMATS, TASKS } from '../lists.js';
import { ALIAS_RE, FILE_PATH_RE, MODEL_ID_RE, PUBLIC_KEY_RE, SEMVER_RE, SHA256_RE } from './patterns.js';

export { ALIAS_RE, FILE_PATH_RE, MODEL_ID_RE, PUBLIC_KEY_RE, SEMVER_RE, SHA256_RE };

export const ModelId = v.pipe(v.string(), v.regex(MODEL_ID_RE, 'invalid model id'), v.check((s) => !s.includes('..'), 'invalid model id'));
export const Version = v.pipe(v.string(), v.regex(SEMVER_RE, 'invalid semver version'));
export const AliasName = v.pipe(v.string(), v.regex(ALIAS_RE, 'invalid alias name'));
export const Sha256 = v.pipe(v.string(), v.regex(SHA256_RE, 'invalid sha256 (64 lower-case hex digits)'));
export const IsoDate = v.pipe(v.string(), v.isoTimestamp('invalid ISO timestamp'));

/** The tasks a model can be published for (the list lives in `../lists.ts`; each task has a row in the worker's and the main thread's task tables). */
export { TASKS, FORMATS, DTYPES };
export const Task = v.picklist(TASKS);
export type Task = v.InferOutput<typeof Task>;

/** The model formats protocol v1 knows. */
export const Format = v.picklist(FORMATS);
export type Format = v.InferOutput<typeof Format>;

/** Numeric variants of the weights. `float32` is always present. */
export const Dtype = v.picklist(DTYPES);
export type Dtype = v.InferOutput<typeof Dtype>;

/** One file of a model: where it sits in the model directory, its size and its content hash. */
export const FileEntry = v.looseObject({
  path: v.pipe(v.string(), v.regex(FILE_PATH_RE, 'invalid file path')),
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sha256: Sha256,
});
export type FileEntry = v.InferOutput<typeof FileEntry>;

export const Variant = v.looseObject({
  /** The entry file (e.g. `model.json`), which must be one of `files`. */
  entry: v.pipe(v.string(), v.regex(FILE_PATH_RE, 'invalid file path')),
  files: v.pipe(v.array(FileEntry), v.minLength(1)),
});
export type Variant = v.InferOutput<typeof Variant>;

/**
 * Image pre-processing, applied in the worker, in this order:
 * decode to RGBA → channels (`rgb`, or `grayscale` with `grayWeights`) → resize to
 * `width`×`height` → float → `x * scale` → `(x - mean[c]) / std[c]` → `layout`.
 */
export const ImagePreprocess = v.looseObject({
  width: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
  channels: v.picklist([1, 3]),
  resize: v.optional(v.picklist(['bilinear', 'nearest']), 'bilinear'),
  /** Weights of R, G, B when converting to grayscale. Default: ITU-R BT.601 luma. */
  grayWeights: v.optional(v.tuple([v.number(), v.number(), v.number()]), [0.299, 0.587, 0.114]),
  scale: v.optional(v.pipe(v.number(), v.finite()), 1 / 255),
  mean: v.optional(v.array(v.pipe(v.number(), v.finite())), [0]),
  std: v.optional(v.array(v.pipe(v.number(), v.finite(), v.check((n) => n !== 0, 'std must not be 0'))), [1]),
  layout: v.optional(v.picklist(['nhwc', 'nchw']), 'nhwc'),
});
export type ImagePreprocess = v.InferOutput<typeof ImagePreprocess>;

/**
 * What an `image-generation` model makes and takes. The variant's entry is the generator (a VAE's
 * decoder); a VAE names its encoder's tfjs model JSON in `encoder` (one of the variant's files; its input
 * is the picture as pixels mapped linearly from 0–255 to `encoderRange`, its output the latent mean).
 */
export const GeneratorSpec = v.looseObject({
  kind: v.picklist(['vae', 'gan']),
  latentDim: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
  width: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
  channels: v.picklist([1, 3]),
  /** Range of the generator's raw output, mapped linearly to 0–255 (e.g. [0, 1] after a sigmoid, [-1, 1] after tanh). */
  outputRange: v.tuple([v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite())]),
  /** How a seed becomes standard-normal latents (`src/shared/latents.ts`). */
  sampler: v.optional(v.picklist(['mulberry32-box-muller']), 'mulberry32-box-muller'),
  /** VAE: the encoder's tfjs model JSON (a file of every variant). */
  encoder: v.optional(v.pipe(v.string(), v.regex(FILE_PATH_RE, 'invalid file path'))),
  /** The range the encoder's input pixels are mapped to. Default [0, 1]. */
  encoderRange: v.optional(v.tuple([v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite())]), [0, 1]),
});
export type GeneratorSpec = v.InferOutput<typeof GeneratorSpec>;

/**
 * Text pre-processing of a character model (`text-classification`), applied in the worker, in this order:
 * `normalize` steps → one id per code point (`vocabulary[i]` has id `firstId + i`, any other character
 * `unknownId`) → cut to `maxLength` (`truncate: end` keeps the first ids) → padded with `padId` to `maxLength`
 * (`pad: start` on the left). See `src/shared/text.ts`.
 */
export const TextPreprocess = v.looseObject({
  normalize: v.optional(v.array(v.picklist(['NFC', 'NFKC', 'lowercase', 'collapse-whitespace', 'trim'])), ['NFC', 'lowercase', 'collapse-whitespace', 'trim']),
  vocabulary: v.pipe(v.array(v.pipe(v.string(), v.check((s) => Array.from(s).length === 1, 'one character per vocabulary entry'))), v.minLength(1)),
  padId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
  unknownId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 1),
  firstId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 2),
  maxLength: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
  truncate: v.optional(v.picklist(['end', 'start']), 'end'),
  pad: v.optional(v.picklist(['start', 'end']), 'start'),
  /** Longest text a call may send (UTF-16 code units); longer is an InvalidInputError. */
  maxInputChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 10_000),
});
export type TextPreprocess = v.InferOutput<typeof TextPreprocess>;

/** A version's manifest: `GET /v1/models/{id}/versions/{version}.json`. */
export const Manifest = v.looseObject({
  schema: v.literal('webinfer.manifest/v1'),
  id: ModelId,
  version: Version,
  task: Task,
  format: Format,
  description: v.optional(v.string()),
  createdAt: IsoDate,
  variants: v.pipe(
    v.looseObject({
      float32: Variant,
      float16: v.optional(Variant),
      uint8: v.optional(Variant),
      int8: v.optional(Variant),
      int4: v.optional(Variant),
    }),
  ),
  /** Required for image-classification. */
  preprocess: v.optional(ImagePreprocess),
  /** Class labels, index = output position. Required for image-classification. */
  labels: v.optional(v.array(v.string())),
  /** What the classifier's output holds: `probabilities` (softmax applied) or `logits`. */
  output: v.optional(v.picklist(['probabilities', 'logits']), 'probabilities'),
  /** Name of the output tensor to read, for graph models with several outputs. */
  outputName: v.optional(v.string()),
  /** Required for text-classification: how text becomes the model's input ids. */
  text: v.optional(TextPreprocess),
  /** feature-extraction: the layer whose activations are the embedding (documentation; the published model ends there). */
  outputLayer: v.optional(v.string()),
  license: v.optional(v.string()),
  source: v.optional(v.string()),
  metrics: v.optional(v.record(v.string(), v.union([v.number(), v.string()]))),
  /** Required for image-generation. */
  generator: v.optional(GeneratorSpec),
});
export type Manifest = v.InferOutput<typeof Manifest>;

export const VersionEntry = v.looseObject({
  version: Version,
  publishedAt: IsoDate,
  yanked: v.optional(v.boolean(), false),
  /** Total bytes of the float32 variant, for display. */
  size: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
export type VersionEntry = v.InferOutput<typeof VersionEntry>;

export const AliasHistoryEntry = v.looseObject({
  version: Version,
  at: IsoDate,
});

/** A signing key as the registry lists it (`PUBLIC_KEY_RE`), revoked or not. */
export const PublicKeyEntry = v.looseObject({
  key: v.pipe(v.string(), v.regex(PUBLIC_KEY_RE)),
  /** Set when the key was revoked: it signs nothing new, and its old signatures are still listed. */
  revokedAt: v.optional(IsoDate),
});
export type PublicKeyEntry = v.InferOutput<typeof PublicKeyEntry>;

/**
 * The signatures of a version manifest: `GET /v1/models/{id}/versions/{version}.sig.json`. Each is an Ed25519
 * signature of the manifest's exact bytes; `manifest` is their `sha256-<base64>` (as `model.info.integrity`).
 */
export const ManifestSignatures = v.looseObject({
  schema: v.literal('webinfer.signatures/v1'),
  manifest: v.pipe(v.string(), v.regex(/^sha256-[A-Za-z0-9+/]{43}=$/)),
  signatures: v.array(
    v.looseObject({
      key: v.pipe(v.string(), v.regex(PUBLIC_KEY_RE)),
      /** base64 of the 64-byte Ed25519 signature of the manifest's bytes. */
      sig: v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]{86}==$/)),
    }),
  ),
});
export type ManifestSignatures = v.InferOutput<typeof ManifestSignatures>;

/** A model's index: `GET /v1/models/{id}/index.json`. */
export const ModelIndex = v.looseObject({
  schema: v.literal('webinfer.model-index/v1'),
  id: ModelId,
  task: Task,
  description: v.optional(v.string()),
  versions: v.array(VersionEntry),
  /** alias → version. `latest` is maintained by the registry; others move on promote/rollback. */
  aliases: v.record(AliasName, Version),
  /** alias → previous targets, newest last (for rollback). */
  history: v.optional(v.record(AliasName, v.array(AliasHistoryEntry)), {}),
  /** The registry's signing keys (see `ManifestSignatures`), revoked ones marked. */
  keys: v.optional(v.array(PublicKeyEntry)),
});
export type ModelIndex = v.InferOutput<typeof ModelIndex>;

export const CatalogEntry = v.looseObject({
  id: ModelId,
  task: Task,
  description: v.optional(v.string()),
  aliases: v.record(AliasName, Version),
  versions: v.optional(v.array(Version), []),
});
export type CatalogEntry = v.InferOutput<typeof CatalogEntry>;

/** The catalogue: `GET /v1/models.json`. */
export const Catalog = v.looseObject({
  schema: v.literal('webinfer.catalog/v1'),
  models: v.array(CatalogEntry),
});
export type Catalog = v.InferOutput<typeof Catalog>;

/** Validation result with human-readable issues (`path: message`). */
export type Checked<T> = { ok: true; value: T } | { ok: false; issues: string[] };

/**
 * Validates `data` against a schema and returns either the typed value or a list of
 * `path: message` issues.
 *
 * @example
 * check(Manifest, JSON.parse(text)); // { ok: false, issues: ['task: Invalid type: …'] }
 */
export function check<S extends v.GenericSchema>(schema: S, data: unknown): Checked<v.InferOutput<S>> {
  const r = v.safeParse(schema, data);
  if (r.success) return { ok: true, value: r.output };
  return {
    ok: false,
    issues: r.issues.map((i) => {
      const path = v.getDotPath(i);
      return path ? `${path}: ${i.message}` : i.message;
    }),
  };
}

/**
 * Extra consistency rules that a schema cannot express: every variant's entry is
 * one of its files, no duplicate paths, classification models carry labels and
 * pre-processing.
 */
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  for (const [name, variant] of Object.entries(m.variants)) {
    // Unknown keys are ignored (forward compatibility): only check what looks like a variant.
    if (!variant || typeof variant !== 'object' || !Array.isArray((variant as { files?: unknown }).files)) continue;
    const vv = variant as Variant;
    const paths = new Set<string>();
    for (const f of vv.files) {
      if (paths.has(f.path)) problems.push(`variants.${name}.files: duplicate path ${f.path}`);
      paths.add(f.path);
    }
    if (!paths.has(vv.entry)) problems.push(`variants.${name}.entry: ${vv.entry} is not one of its files`);
  }
  if (m.task === 'image-classification') {
    if (!m.preprocess) problems.push('preprocess: required for image-classification');
    if (!m.labels || m.labels.length === 0) problems.push('labels: required for image-classification');
    if (m.preprocess) {
      const c = m.preprocess.channels;
      for (const key of ['mean', 'std'] as const) {
        const arr = m.preprocess[key];
        if (arr.length !== 1 && arr.length !== c) problems.push(`preprocess.${key}: needs 1 or ${c} values`);
      }
    }
  }
  if (m.task === 'image-generation') {
    const g = m.generator;
    if (!g) problems.push('generator: required for image-generation');
    else {
      if (g.outputRange[0] >= g.outputRange[1]) problems.push('generator.outputRange: needs [min, max] with min < max');
      if (g.kind === 'vae' && g.encoder === undefined) problems.push('generator.encoder: required for kind vae');
      if (g.encoder !== undefined) {
        for (const [name, variant] of Object.entries(m.variants)) {
          const files = (variant as { files?: unknown } | undefined)?.files;
          if (Array.isArray(files) && !files.some((f: { path?: unknown }) => f.path === g.encoder)) problems.push(`variants.${name}.files: the encoder ${g.encoder} is not one of them`);
        }
      }
    }
  }
  if (m.task === 'text-classification') {
    if (!m.text) problems.push('text: required for text-classification');
    if (!m.labels || m.labels.length === 0) problems.push('labels: required for text-classification');
  }
  if (m.task === 'feature-extraction' && !m.preprocess) problems.push('preprocess: required for feature-extraction');
  return problems;
}
