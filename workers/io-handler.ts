/**
 * A tfjs `IOHandler` over files that were already fetched and verified, so tfjs
 * never touches the network: layers and graph models load from the same bytes.
 */
import type { io } from '@tensorflow/tfjs-core';
import { ManifestError } from '../src/shared/errors/manifest.js';
import type { LoadedFiles } from './loader.js';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
  trainingConfig?: io.TrainingConfig;
}

/** Resolves `rel` against the directory of `base` (both manifest paths), refusing to leave the model. */
function join(base: string, rel: string): string {
  const parts = base.split('/').slice(0, -1);
  for (const p of rel.split('/')) {
    if (p === '..') {
      if (parts.length === 0) throw new Error(`path ${rel} leaves the model directory`);
      parts.pop();
    } else if (p !== '.' && p !== '') parts.push(p);
  }
  return parts.join('/');
}

/** Builds tfjs ModelArtifacts from a model's verified files. */
export function toArtifacts(loaded: LoadedFiles): io.ModelArtifacts {
  const { manifest } = loaded;
  const variant = manifest.variants[loaded.dtype] ?? manifest.variants.float32;
  const entryBytes = loaded.files.get(variant.entry);
  const where = `${manifest.id}@${manifest.version}/${variant.entry}`;
  if (!entryBytes) throw new ManifestError(`${where} is missing`, { url: where, issues: ['missing entry'] });
  let json: ModelJson;
  try {
    json = JSON.parse(new TextDecoder().decode(entryBytes)) as ModelJson;
  } catch (e) {
    throw new ManifestError(`${where} is not valid JSON`, { url: where, issues: [String(e)] }, { cause: e });
  }
  if (typeof json !== 'object' || json === null || json.modelTopology === undefined) {
    throw new ManifestError(`${where} has no modelTopology`, { url: where, issues: ['modelTopology missing'] });
  }
  const groups = json.weightsManifest ?? [];
  const weightSpecs: io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const g of groups) {
    weightSpecs.push(...g.weights);
    for (const p of g.paths) {
      const path = join(variant.entry, p);
      const bytes = loaded.files.get(path);
      if (!bytes) throw new ManifestError(`${where} references weights file ${p}, which the manifest does not list`, { url: where, issues: [`unlisted weights ${p}`] });
      buffers.push(bytes);
    }
  }
  const size = buffers.reduce((s, b) => s + b.byteLength, 0);
  const weightData = new Uint8Array(size);
  let o = 0;
  for (const b of buffers) {
    weightData.set(b, o);
    o += b.byteLength;
  }
  const artifacts: io.ModelArtifacts = {
    modelTopology: json.modelTopology as io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: weightData.buffer,
  };
  if (json.format !== undefined) artifacts.format = json.format;
  if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
  if (json.convertedBy !== undefined && json.convertedBy !== null) artifacts.convertedBy = json.convertedBy;
  if (json.signature !== undefined) artifacts.signature = json.signature as object;
  if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata as { [key: string]: {} };
  if (json.modelInitializer !== undefined) artifacts.modelInitializer = json.modelInitializer as object;
  if (json.initializerSignature !== undefined) artifacts.initializerSignature = json.initializerSignature as object;
  if (json.trainingConfig !== undefined) artifacts.trainingConfig = json.trainingConfig;
  return artifacts;
}

/** An IOHandler that hands tfjs the verified artifacts. */
export function verifiedIOHandler(loaded: LoadedFiles): io.IOHandler {
  return { load: async () => toArtifacts(loaded) };
}
