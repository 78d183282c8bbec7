/**
 * GPT-2's `config.json` (Hugging Face layout), validated with valibot.
 */
import * as v from 'valibot';
import { ManifestError } from '../../src/shared/errors/manifest.js';

const Int = v.pipe(v.number(), v.integer(), v.minValue(1));

export const Gpt2ConfigSchema = v.looseObject({
  n_layer: Int,
  n_head: Int,
  n_embd: Int,
  n_positions: Int,
  vocab_size: Int,
  layer_norm_epsilon: v.optional(v.pipe(v.number(), v.minValue(0)), 1e-5),
  bos_token_id: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0)))),
  eos_token_id: v.optional(v.nullable(v.union([v.pipe(v.number(), v.integer(), v.minValue(0)), v.array(v.number())]))),
  activation_function: v.optional(v.string(), 'gelu_new'),
});
export type Gpt2Config = v.InferOutput<typeof Gpt2ConfigSchema>;

/** Parses and checks `config.json`. */
export function parseGpt2Config(text: string, where = 'config.json'): Gpt2Config {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`${where} is not valid JSON`, { url: where, issues: [String(e)] }, { cause: e });
  }
  const r = v.safeParse(Gpt2ConfigSchema, data);
  if (!r.success) {
    const issues = r.issues.map((i) => `${v.getDotPath(i) ?? ''}: ${i.message}`);
    throw new ManifestError(`${where} is not a GPT-2 config: ${issues.join('; ')}`, { url: where, issues });
  }
  const c = r.output;
  if (c.n_embd % c.n_head !== 0) throw new ManifestError(`${where}: n_embd (${c.n_embd}) is not a multiple of n_head (${c.n_head})`, { url: where, issues: ['n_embd % n_head'] });
  if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu'].includes(c.activation_function)) {
    throw new ManifestError(`${where}: activation_function ${c.activation_function} is not supported (gelu_new)`, { url: where, issues: ['activation_function'] });
  }
  return c;
}

/** The end-of-sequence ids of a config (GPT-2: one id; some configs list several). */
export function eosIds(c: Gpt2Config): number[] {
  const e = c.eos_token_id;
  if (e === undefined || e === null) return [];
  return Array.isArray(e) ? e : [e];
}
