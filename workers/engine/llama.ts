/**
 * Llama-family decoders on the WebAssembly engine (`JOB_LLAMA` in native/engine.c): RMSNorm,
 * rotary positions (`rope_theta`, `rope_scaling` linear / llama3), SwiGLU, grouped-query
 * attention, q/k/v biases where the checkpoint has them (Qwen2), tied or separate output head.
 * Weights from the Hugging Face layout (`model.embed_tokens.weight`, `model.layers.{i}.…`,
 * `lm_head.weight`), float32/float16/bfloat16 packed as float32 panels, or the quantizer's int8 /
 * int4 panels kept quantized. The same state discipline as GPT-2: a KV cache allocated once for
 * the positions a generation can reach, prompts in chunks.
 */
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { ropeInverseFrequencies, type LlamaConfig } from '../llama/config.js';
import { Engine, JOB, type Region } from './engine.js';
import type { TensorSource } from './tensors.js';
import { buildRegions, f32Bits, KIND_CODE, WeightPlan, weightKindOf, type WeightKind } from './weights.js';

const M = { L: 0, C: 1, H: 2, KVH: 3, HD: 4, V: 5, I: 6, KIND: 7, G: 8, EPS: 9, EMB: 10, EMBS: 11, HEAD: 12, HEADS: 13, NORM: 14, LAYERS: 16, PER_LAYER: 24 } as const;
const LW = { in: 0, qW: 1, qS: 2, qB: 3, kW: 4, kS: 5, kB: 6, vW: 7, vS: 8, vB: 9, oW: 10, oS: 11, post: 12, gW: 13, gS: 14, uW: 15, uS: 16, dW: 17, dS: 18 } as const;
const S = { KC: 0, VC: 1, CAP: 2, TMAX: 3, X: 4, H: 5, Q: 6, K: 7, V: 8, ATT: 9, FF: 10, FF2: 11, SCORES: 12, LOGITS: 13, ROW: 14, IDS: 15, XQ: 16, XS: 17, COS: 18, SIN: 19, WORDS: 24 } as const;

/** Tokens per forward call of a prompt. */
export const DEFAULT_CHUNK = 64;

/** One generation's state: KV cache, rotary tables for its positions, scratch. */
export class LlamaEngineState {
  length = 0;
  #disposed = false;
  constructor(
    private readonly engine: Engine,
    readonly desc: Region,
    readonly capacity: number,
    readonly chunk: number,
    private readonly regions: Region[],
  ) {}
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.regions.forEach((r) => this.engine.free(r));
  }
}

/**
 * A Llama-family model held by the engine.
 *
 * @example
 * const lm = await LlamaEngine.load(engine, parseLlamaConfig(configText), indexSafetensors(bytes));
 * const s = lm.newState(128);
 * const logits = lm.forward(s, [1, 450, 4996]); // Float32Array(vocab_size)
 */
export class LlamaEngine {
  readonly #regions: Region[];
  readonly #desc: Region;
  #disposed = false;

  private constructor(
    readonly engine: Engine,
    readonly config: LlamaConfig,
    readonly kind: WeightKind,
    readonly group: number,
    regions: Region[],
    desc: Region,
  ) {
    this.#regions = regions;
    this.#desc = desc;
  }

  get weightBytes(): number {
    return this.#regions.reduce((s, r) => s + r.bytes, 0);
  }

  static async load(engine: Engine, config: LlamaConfig, tensors: TensorSource, where = 'model.safetensors', options: { yieldToEvents?: () => Promise<void> } = {}): Promise<LlamaEngine> {
    const { layers: L, hidden: C, heads: H, kvHeads: KVH, headDim: hd, vocab: V, intermediate: I } = config;
    const QD = H * hd;
    const KD = KVH * hd;
    const { kind, group } = weightKindOf(tensors, [C, I, QD], where);
    const built = await buildRegions(engine, async (alloc) => {
      const words = M.LAYERS + M.PER_LAYER * L;
      const desc = alloc(words * 4);
      const set = (i: number, v: number): void => void (new Uint32Array(engine.memory.buffer, desc.ptr, words)[i] = v >>> 0);
      new Uint32Array(engine.memory.buffer, desc.ptr, words).fill(0);
      [[M.L, L], [M.C, C], [M.H, H], [M.KVH, KVH], [M.HD, hd], [M.V, V], [M.I, I], [M.KIND, KIND_CODE[kind]], [M.G, group], [M.EPS, f32Bits(config.eps)]].forEach(([i, v]) => set(i as number, v as number));
      const plan = new WeightPlan(engine, tensors, kind, group, where, alloc, set, options.yieldToEvents);
      plan.matrix('model.embed_tokens.weight', C, V, 'nk', M.EMB, M.EMBS);
      // The head: its own weights, or the embedding's (tied). A checkpoint that says untied but
      // ships no lm_head (some exports) is tied in effect.
      if (!config.tied && plan.has('lm_head.weight')) plan.matrix('lm_head.weight', C, V, 'nk', M.HEAD, M.HEADS);
      plan.vector('model.norm.weight', [C], M.NORM);
      for (let l = 0; l < L; l++) {
        const p = `model.layers.${l}.`;
        const at = (w: number): number => M.LAYERS + l * M.PER_LAYER + w;
        plan.vector(`${p}input_layernorm.weight`, [C], at(LW.in));
        plan.matrix(`${p}self_attn.q_proj.weight`, C, QD, 'nk', at(LW.qW), at(LW.qS));
        plan.matrix(`${p}self_attn.k_proj.weight`, C, KD, 'nk', at(LW.kW), at(LW.kS));
        plan.matrix(`${p}self_attn.v_proj.weight`, C, KD, 'nk', at(LW.vW), at(LW.vS));
        if (config.qkvBias) {
          plan.vector(`${p}self_attn.q_proj.bias`, [QD], at(LW.qB));
          plan.vector(`${p}self_attn.k_proj.bias`, [KD], at(LW.kB));
          plan.vector(`${p}self_attn.v_proj.bias`, [KD], at(LW.vB));
        }
        plan.matrix(`${p}self_attn.o_proj.weight`, QD, C, 'nk', at(LW.oW), at(LW.oS));
        plan.vector(`${p}post_attention_layernorm.weight`, [C], at(LW.post));
        plan.matrix(`${p}mlp.gate_proj.weight`, C, I, 'nk', at(LW.gW), at(LW.gS));
        plan.matrix(`${p}mlp.up_proj.weight`, C, I, 'nk', at(LW.uW), at(LW.uS));
        plan.matrix(`${p}mlp.down_proj.weight`, I, C, 'nk', at(LW.dW), at(LW.dS));
      }
      await plan.run();
      const d = new Uint32Array(engine.memory.buffer, desc.ptr, words);
      if (d[M.HEAD] === 0) {
        set(M.HEAD, d[M.EMB] as number);
        set(M.HEADS, d[M.EMBS] as number);
      }
      return desc;
    });
    return new LlamaEngine(engine, config, kind, group, built.regions, built.value);
  }

  /** A generation's state for `capacity` positions (at most the model's), with its rotary tables. */
  newState(capacity: number, chunk = DEFAULT_CHUNK): LlamaEngineState {
    this.#assertLive();
    const { layers: L, hidden: C, heads: H, kvHeads: KVH, headDim: hd, vocab: V, intermediate: I, positions } = this.config;
    const cap = Math.max(1, Math.min(positions, Math.floor(capacity)));
    const T = Math.max(1, Math.min(chunk, cap));
    const e = this.engine;
    const regions: Region[] = [];
    const alloc = (bytes: number): Region => {
      const r = e.alloc(bytes);
      regions.push(r);
      return r;
    };
    try {
      const desc = alloc(S.WORDS * 4);
      const maxK = Math.max(C, I, H * hd);
      const cos = alloc(cap * (hd / 2) * 4);
      const sin = alloc(cap * (hd / 2) * 4);
      const words = [
        alloc(L * KVH * cap * hd * 4).ptr,
        alloc(L * KVH * cap * hd * 4).ptr,
        cap,
        T,
        alloc(T * C * 4).ptr,
        alloc(T * C * 4).ptr,
        alloc(T * H * hd * 4).ptr,
        alloc(T * KVH * hd * 4).ptr,
        alloc(T * KVH * hd * 4).ptr,
        alloc(T * H * hd * 4).ptr,
        alloc(T * I * 4).ptr,
        alloc(T * I * 4).ptr,
        alloc(e.threads * cap * 4).ptr,
        alloc(V * 4).ptr,
        alloc(C * 4).ptr,
        alloc(T * 4).ptr,
        this.kind === 'float32' ? 0 : alloc(e.threads * T * maxK * 2).ptr,
        this.kind === 'float32' ? 0 : alloc(e.threads * T * (maxK / this.group) * 4).ptr,
        cos.ptr,
        sin.ptr,
      ];
      const view = e.u32(desc, S.WORDS);
      view.fill(0);
      words.forEach((w, i) => (view[i] = w >>> 0));
      // Rotary tables for the positions this state can reach (angles in float64, then float32).
      const inv = ropeInverseFrequencies(this.config);
      const c = e.f32(cos);
      const s = e.f32(sin);
      const half = hd / 2;
      for (let p = 0; p < cap; p++) {
        for (let i = 0; i < half; i++) {
          const a = p * (inv[i] as number);
          c[p * half + i] = Math.cos(a);
          s[p * half + i] = Math.sin(a);
        }
      }
      return new LlamaEngineState(e, desc, cap, T, regions);
    } catch (err) {
      regions.forEach((r) => e.free(r));
      throw err;
    }
  }

  /** Runs `ids` through the model in chunks, appending to `state`; the last position's logits (a copy), or none. */
  forward(state: LlamaEngineState, ids: readonly number[], options: { logits?: boolean } = {}): Float32Array {
    this.#assertLive();
    if (ids.length === 0) throw new RangeError('forward() needs at least one token');
    if (state.length + ids.length > state.capacity) throw new RangeError(`context of ${state.length + ids.length} tokens exceeds this state's ${state.capacity} positions`);
    const V = this.config.vocab;
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary (${V})`);
    const want = options.logits !== false;
    const st = this.engine.u32(state.desc, S.WORDS);
    const idsPtr = st[S.IDS] as number;
    const logitsPtr = st[S.LOGITS] as number;
    for (let i = 0; i < ids.length; i += state.chunk) {
      const part = ids.slice(i, i + state.chunk);
      new Int32Array(this.engine.memory.buffer, idsPtr, part.length).set(part);
      const last = i + state.chunk >= ids.length;
      this.engine.run(JOB.llama, [this.#desc.ptr, state.desc.ptr, idsPtr, part.length, state.length, last && want ? 1 : 0]);
      state.length += part.length;
    }
    return want ? new Float32Array(this.engine.memory.buffer, logitsPtr, V).slice() : new Float32Array(0);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#regions.forEach((r) => this.engine.free(r));
  }

  #assertLive(): void {
    if (this.#disposed) throw new ManifestError('this model was disposed', { url: 'engine', issues: ['disposed'] });
  }
}
