/**
 * The `config.json` of a Llama-family checkpoint (Hugging Face layout): Llama 2/3, TinyLlama,
 * SmolLM2 (`model_type` `llama`), Qwen2 / Qwen2.5 (`qwen2`: biases on q, k, v) and Mistral
 * (`mistral`, without a sliding window shorter than the context). Validated with valibot; what
 * webinfer cannot run is refused here, by name, at publish time and at load.
 */
import * as v from 'valibot';
import { ManifestError } from '../../src/shared/errors/manifest.js';

/** The `model_type`s of the Llama family. */
export const LLAMA_MODEL_TYPES = ['llama', 'qwen2', 'mistral'] as const;
export type LlamaModelType = (typeof LLAMA_MODEL_TYPES)[number];

const Int = v.pipe(v.number(), v.integer(), v.minValue(1));
const Id = v.pipe(v.number(), v.integer(), v.minValue(0));
const RopeScaling = v.looseObject({
  type: v.optional(v.string()),
  rope_type: v.optional(v.string()),
  factor: v.optional(v.pipe(v.number(), v.minValue(1))),
  low_freq_factor: v.optional(v.number()),
  high_freq_factor: v.optional(v.number()),
  original_max_position_embeddings: v.optional(Int),
});

export const LlamaConfigSchema = v.looseObject({
  model_type: v.picklist(LLAMA_MODEL_TYPES),
  hidden_size: Int,
  intermediate_size: Int,
  num_hidden_layers: Int,
  num_attention_heads: Int,
  num_key_value_heads: v.optional(Int),
  head_dim: v.optional(v.nullable(Int)),
  vocab_size: Int,
  max_position_embeddings: Int,
  rms_norm_eps: v.optional(v.pipe(v.number(), v.minValue(0)), 1e-6),
  rope_theta: v.optional(v.pipe(v.number(), v.minValue(1)), 10000),
  rope_scaling: v.optional(v.nullable(RopeScaling)),
  tie_word_embeddings: v.optional(v.boolean()),
  attention_bias: v.optional(v.boolean()),
  mlp_bias: v.optional(v.boolean()),
  hidden_act: v.optional(v.string(), 'silu'),
  sliding_window: v.optional(v.nullable(v.number())),
  use_sliding_window: v.optional(v.boolean()),
  bos_token_id: v.optional(v.nullable(Id)),
  eos_token_id: v.optional(v.nullable(v.union([Id, v.array(Id)]))),
});
type RawConfig = v.InferOutput<typeof LlamaConfigSchema>;

/** A checked Llama-family config, with its defaults filled in. */
export interface LlamaConfig {
  readonly modelType: LlamaModelType;
  readonly layers: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
  readonly positions: number;
  readonly eps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: { readonly kind: 'linear' | 'llama3'; readonly factor: number; readonly low: number; readonly high: number; readonly original: number } | undefined;
  readonly tied: boolean;
  /** q, k, v projections have biases (Qwen2, or `attention_bias`). */
  readonly qkvBias: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

/**
 * Parses and checks `config.json`.
 *
 * @example
 * parseLlamaConfig(text).kvHeads; // 2 (grouped-query attention: 8 query heads share 2 key/value heads)
 */
export function parseLlamaConfig(text: string, where = 'config.json'): LlamaConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`${where} is not valid JSON`, { url: where, issues: [String(e)] }, { cause: e });
  }
  const type = (data as { model_type?: unknown } | null)?.model_type;
  if (typeof type === 'string' && !(LLAMA_MODEL_TYPES as readonly string[]).includes(type)) {
    throw new ManifestError(`${where}: model_type "${type}" is not a Llama-family model (supported: ${LLAMA_MODEL_TYPES.join(', ')})`, { url: where, issues: ['model_type'] });
  }
  const r = v.safeParse(LlamaConfigSchema, data);
  if (!r.success) {
    const issues = r.issues.map((i) => `${v.getDotPath(i) ?? ''}: ${i.message}`);
    throw new ManifestError(`${where} is not a Llama-family config: ${issues.join('; ')}`, { url: where, issues });
  }
  return checkConfig(r.output, where);
}

function checkConfig(c: RawConfig, where: string): LlamaConfig {
  const bad = (field: string, why: string): never => {
    throw new ManifestError(`${where}: ${field} ${why}`, { url: where, issues: [field] });
  };
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kvHeads !== 0) bad('num_key_value_heads', `(${kvHeads}) must divide num_attention_heads (${c.num_attention_heads})`);
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 8 !== 0) bad('head_dim', `(${headDim}) must be a whole multiple of 8`);
  if (c.hidden_act !== 'silu') bad('hidden_act', `"${c.hidden_act}" is not supported (silu)`);
  if (c.mlp_bias) bad('mlp_bias', 'is not supported');
  const slidingOn = c.model_type === 'qwen2' ? c.use_sliding_window === true : c.sliding_window !== undefined && c.sliding_window !== null;
  if (slidingOn && (c.sliding_window ?? 0) < c.max_position_embeddings) {
    bad('sliding_window', `(${c.sliding_window}) shorter than the context (${c.max_position_embeddings}) is not supported`);
  }
  let ropeScaling: LlamaConfig['ropeScaling'];
  if (c.rope_scaling) {
    const kind = c.rope_scaling.rope_type ?? c.rope_scaling.type;
    const factor = c.rope_scaling.factor ?? 1;
    if (kind === 'linear') ropeScaling = { kind, factor, low: 1, high: 1, original: c.max_position_embeddings };
    else if (kind === 'llama3') {
      ropeScaling = {
        kind,
        factor,
        low: c.rope_scaling.low_freq_factor ?? 1,
        high: c.rope_scaling.high_freq_factor ?? 4,
        original: c.rope_scaling.original_max_position_embeddings ?? 8192,
      };
    } else if (kind !== 'default') bad('rope_scaling', `type "${String(kind)}" is not supported (linear, llama3)`);
  }
  const eos = c.eos_token_id;
  return {
    modelType: c.model_type,
    layers: c.num_hidden_layers,
    hidden: c.hidden_size,
    intermediate: c.intermediate_size,
    heads: c.num_attention_heads,
    kvHeads,
    headDim,
    vocab: c.vocab_size,
    positions: c.max_position_embeddings,
    eps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    ropeScaling,
    tied: c.tie_word_embeddings ?? false,
    qkvBias: c.model_type === 'qwen2' ? true : c.attention_bias === true,
    bosTokenId: c.bos_token_id ?? null,
    eosTokenIds: eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos],
  };
}

/**
 * The rotary inverse frequencies (hd/2 of them), with `rope_scaling` applied as Hugging Face does
 * (`linear`: positions interpolated by `factor`; `llama3`: long wavelengths divided by `factor`,
 * short ones kept, the band between smoothed).
 */
export function ropeInverseFrequencies(c: LlamaConfig): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (!s) return inv;
  if (s.kind === 'linear') return inv.map((f) => f / s.factor);
  const lowWavelen = s.original / s.low;
  const highWavelen = s.original / s.high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.original / wavelen - s.low) / (s.high - s.low);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}
