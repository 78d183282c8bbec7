/**
 * A text model from its verified files, whatever its family: `gpt2-safetensors` (GPT-2) or
 * `llama-safetensors` (Llama, Qwen2, Mistral, chosen by config.json `model_type`). The weights are
 * `model.safetensors` or the shards listed by `model.safetensors.index.json`, each whole or in the
 * registry's chunks (`<file>.part-00000-of-00015`, …). On webinfer's WebAssembly engine when `engine`
 * is given (the WASM backend), else with tfjs ops on the current tfjs backend (WebGPU, CPU).
 */
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { Decoder } from '../decoders/decoder.js';
import { engineGpt2 } from '../decoders/engine-gpt2.js';
import { engineLlama, tfjsLlama } from '../decoders/llama.js';
import { tfjsGpt2 } from '../decoders/tfjs-gpt2.js';
import type { Engine } from '../engine/engine.js';
import { indexSafetensors, mergeSources, type TensorSource } from '../engine/tensors.js';
import { eosIds, parseGpt2Config } from '../gpt2/config.js';
import { readSafetensors, type SafeTensor } from '../gpt2/safetensors.js';
import { parseLlamaConfig } from '../llama/config.js';
import type { LoadedFiles } from '../loader.js';
import { nextTask } from '../queues/next-task.js';
import { TextTokenizer } from './tokenizer.js';

/** A loaded text model: its decoder (tfjs or the WASM engine), tokenizer and end tokens. */
export interface TextModel {
  readonly decoder: Decoder;
  readonly tokenizer: TextTokenizer;
  /** Tokens that end a generation (config.json, generation_config.json and the tokenizer's eos). */
  readonly eos: readonly number[];
  dispose(): void;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The weight files of a variant: for each shard (in index order), its whole file or its chunks in order. */
function weightFiles(loaded: LoadedFiles, where: string, text: (name: string) => string | undefined): string[][] {
  const variant = loaded.manifest.variants[loaded.dtype] ?? loaded.manifest.variants.float32;
  const paths = variant.files.map((f) => f.path);
  const index = text('model.safetensors.index.json');
  let shards = ['model.safetensors'];
  if (index !== undefined) {
    let map: unknown;
    try {
      map = (JSON.parse(index) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      throw new ManifestError(`${where}/model.safetensors.index.json is not valid JSON`, { url: where, issues: [String(e)] }, { cause: e });
    }
    if (typeof map !== 'object' || map === null) throw new ManifestError(`${where}/model.safetensors.index.json has no weight_map`, { url: where, issues: ['weight_map'] });
    shards = [...new Set(Object.values(map).map(String))];
  }
  return shards.map((shard) => {
    if (paths.includes(shard)) return [shard];
    const re = new RegExp(`^${escape(shard)}\\.part-\\d+-of-\\d+$`);
    const chunks = paths.filter((p) => re.test(p));
    if (chunks.length === 0) throw new ManifestError(`${where}: ${shard} is missing`, { url: where, issues: [`missing ${shard}`] });
    return chunks;
  });
}

/**
 * @example
 * const lm = await loadTextModel(files, engine);
 * lm.tokenizer.encode('Once upon'); // [7454, 2402]
 * const logits = await lm.decoder.session(64).step([7454, 2402]);
 */
export async function loadTextModel(loaded: LoadedFiles, engine?: Engine): Promise<TextModel> {
  const { manifest } = loaded;
  const where = `${manifest.id}@${manifest.version}`;
  const text = (name: string): string | undefined => {
    const b = loaded.files.get(name);
    return b ? new TextDecoder().decode(b) : undefined;
  };
  const need = (name: string): string => {
    const t = text(name);
    if (t === undefined) throw new ManifestError(`${where}: ${name} is missing from the manifest`, { url: where, issues: [`missing ${name}`] });
    return t;
  };
  const configText = need('config.json');
  // Task hops between the steps of a load: heartbeats get answered on a busy machine.
  await nextTask();
  const tokenizer = TextTokenizer.fromFiles(need('tokenizer.json'), text('tokenizer_config.json'), `${where}/tokenizer.json`);
  await nextTask();
  const groups = weightFiles(loaded, where, text);
  const file = `${where}/model.safetensors`;
  // On the engine, each chunk's bytes are dropped as soon as its tensors are in the engine's
  // memory: the weights are never held twice (peak ≈ weights + one chunk, not download + weights).
  const source = (): TensorSource =>
    mergeSources(
      groups.map((paths) =>
        indexSafetensors(
          paths.map((p) => loaded.files.get(p)).filter((b): b is Uint8Array => b !== undefined),
          `${where}/${paths[0] ?? 'model.safetensors'}`,
          { release: (i) => loaded.release(paths[i] as string) },
        ),
      ),
    );
  const floats = (): Map<string, SafeTensor> => {
    const all = new Map<string, SafeTensor>();
    for (const paths of groups) {
      for (const [n, t] of readSafetensors(paths.map((p) => loaded.files.get(p) as Uint8Array), `${where}/${paths[0]}`)) all.set(n, t);
    }
    return all;
  };
  let decoder: Decoder;
  let vocab: number;
  let eos: number[];
  if (manifest.format === 'llama-safetensors') {
    const config = parseLlamaConfig(configText, `${where}/config.json`);
    vocab = config.vocab;
    eos = [...config.eosTokenIds];
    decoder = engine ? await engineLlama(engine, config, source(), file) : tfjsLlama(config, floats(), file);
  } else {
    const config = parseGpt2Config(configText, `${where}/config.json`);
    vocab = config.vocab_size;
    eos = eosIds(config);
    decoder = engine ? await engineGpt2(engine, config, source(), file) : tfjsGpt2(config, floats(), file);
  }
  if (tokenizer.size > vocab) {
    decoder.dispose();
    throw new ManifestError(`${where}: tokenizer has ${tokenizer.size} tokens but vocab_size is ${vocab}`, { url: where, issues: ['vocab size'] });
  }
  // End tokens: the config's, generation_config.json's (Llama 3 instruct lists several) and the tokenizer's eos.
  const gen = text('generation_config.json');
  if (gen !== undefined) {
    try {
      const e = (JSON.parse(gen) as { eos_token_id?: unknown }).eos_token_id;
      for (const id of Array.isArray(e) ? e : [e]) if (typeof id === 'number') eos.push(id);
    } catch {
      /* an unreadable generation_config.json only loses its extra end tokens */
    }
  }
  const eosId = tokenizer.eosToken !== undefined ? tokenizer.tokenId(tokenizer.eosToken) : undefined;
  if (eosId !== undefined) eos.push(eosId);
  return { decoder, tokenizer, eos: [...new Set(eos)], dispose: () => decoder.dispose() };
}
