/**
 * GPT-2 on the WebAssembly engine: the weights packed into the engine's memory (float32
 * panels, or int8 / int4 panels with their scales, kept quantized), one descriptor of their
 * addresses, and a forward pass of T tokens at a time through `native/engine.c`
 * (`JOB_GPT2`), all threads taking part.
 *
 * Memory is bounded and flat in the prompt length: the KV cache of a generation is allocated
 * once for the positions it can reach, and a prompt runs in chunks of at most `chunk` tokens,
 * so no buffer grows with the square of the prompt.
 */
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { Gpt2Config } from '../gpt2/config.js';
import { Engine, JOB, type Region } from './engine.js';
import type { TensorSource } from './tensors.js';
import { buildRegions, f32Bits, KIND_CODE, WeightPlan, weightKindOf, type WeightKind } from './weights.js';

export type { WeightKind };

/** Words of the model descriptor (see `native/engine.c`). */
const M = { L: 0, C: 1, H: 2, V: 3, P: 4, KIND: 5, G: 6, EPS: 7, WTE: 8, WTES: 9, WPE: 10, LNFG: 11, LNFB: 12, LAYERS: 16, PER_LAYER: 16 } as const;
const LW = { ln1g: 0, ln1b: 1, attW: 2, attS: 3, attB: 4, projW: 5, projS: 6, projB: 7, ln2g: 8, ln2b: 9, fcW: 10, fcS: 11, fcB: 12, fpW: 13, fpS: 14, fpB: 15 } as const;
/** Words of the state descriptor. */
const S = { KC: 0, VC: 1, PCAP: 2, TMAX: 3, X: 4, H: 5, QKV: 6, ATT: 7, FF: 8, SCORES: 9, LOGITS: 10, ROW: 11, IDS: 12, XQ: 13, XS: 14, WORDS: 16 } as const;

/** Tokens run per forward call of a prompt (scratch memory scales with it, not with the prompt). */
export const DEFAULT_CHUNK = 64;

/** A generation's state on the engine: its KV cache and scratch buffers. Free it with `dispose()`. */
export class Gpt2EngineState {
  /** Positions filled so far. */
  length = 0;
  #disposed = false;
  constructor(
    private readonly engine: Engine,
    readonly desc: Region,
    readonly capacity: number,
    readonly chunk: number,
    private readonly regions: Region[],
  ) {}

  get bytes(): number {
    return this.regions.reduce((s, r) => s + r.bytes, 0);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.regions.forEach((r) => this.engine.free(r));
  }
}


/**
 * A GPT-2 held by the engine.
 *
 * @example
 * const lm = await Gpt2Engine.load(engine, config, indexSafetensors(bytes));
 * const state = lm.newState(64);
 * const logits = lm.forward(state, [464, 3290]); // Float32Array(vocab_size); state.length === 2
 * state.dispose(); lm.dispose();
 */
export class Gpt2Engine {
  readonly #regions: Region[];
  readonly #desc: Region;
  #disposed = false;

  private constructor(
    readonly engine: Engine,
    readonly config: Gpt2Config,
    readonly kind: WeightKind,
    readonly group: number,
    regions: Region[],
    desc: Region,
  ) {
    this.#regions = regions;
    this.#desc = desc;
  }

  /** Bytes of engine memory the weights take (as held: quantized weights stay quantized). */
  get weightBytes(): number {
    return this.#regions.reduce((s, r) => s + r.bytes, 0);
  }

  /**
   * Lays the weights of `tensors` out in the engine's memory. Float tensors (F32, F16, BF16) are
   * packed as float32 panels; a file written by the int8 / int4 quantizer (`wi_q8` / `wi_q4`
   * tensors) is copied as is.
   */
  static async load(engine: Engine, config: Gpt2Config, tensors: TensorSource, where = 'model.safetensors', options: { yieldToEvents?: () => Promise<void> } = {}): Promise<Gpt2Engine> {
    const { n_layer: L, n_embd: C, n_head: H, vocab_size: V, n_positions: P } = config;
    if (H <= 0 || C % H !== 0) throw new ManifestError(`${where}: n_embd ${C} is not a multiple of n_head ${H}`, { url: where, issues: ['n_head'] });
    const { kind, group } = weightKindOf(tensors, [C, 4 * C], where);
    const built = await buildRegions(engine, async (alloc) => {
      const words = M.LAYERS + M.PER_LAYER * L;
      const desc = alloc(words * 4);
      // A fresh view each time: packing may grow the memory (a non-shared buffer detaches).
      const set = (i: number, v: number): void => void (new Uint32Array(engine.memory.buffer, desc.ptr, words)[i] = v >>> 0);
      new Uint32Array(engine.memory.buffer, desc.ptr, words).fill(0);
      [[M.L, L], [M.C, C], [M.H, H], [M.V, V], [M.P, P], [M.KIND, KIND_CODE[kind]], [M.G, group], [M.EPS, f32Bits(config.layer_norm_epsilon)]].forEach(([i, v]) => set(i as number, v as number));
      // Checkpoints saved from GPT2Model have no `transformer.` prefix.
      const plan = new WeightPlan(engine, tensors, kind, group, where, alloc, set, options.yieldToEvents, (n) => [n.replace(/^transformer\./, '')]);
      plan.matrix('transformer.wte.weight', C, V, 'nk', M.WTE, M.WTES);
      plan.vector('transformer.wpe.weight', [P, C], M.WPE);
      plan.vector('transformer.ln_f.weight', [C], M.LNFG);
      plan.vector('transformer.ln_f.bias', [C], M.LNFB);
      for (let l = 0; l < L; l++) {
        const p = `transformer.h.${l}.`;
        const at = (w: number): number => M.LAYERS + l * M.PER_LAYER + w;
        plan.vector(`${p}ln_1.weight`, [C], at(LW.ln1g));
        plan.vector(`${p}ln_1.bias`, [C], at(LW.ln1b));
        plan.matrix(`${p}attn.c_attn.weight`, C, 3 * C, 'kn', at(LW.attW), at(LW.attS));
        plan.vector(`${p}attn.c_attn.bias`, [3 * C], at(LW.attB));
        plan.matrix(`${p}attn.c_proj.weight`, C, C, 'kn', at(LW.projW), at(LW.projS));
        plan.vector(`${p}attn.c_proj.bias`, [C], at(LW.projB));
        plan.vector(`${p}ln_2.weight`, [C], at(LW.ln2g));
        plan.vector(`${p}ln_2.bias`, [C], at(LW.ln2b));
        plan.matrix(`${p}mlp.c_fc.weight`, C, 4 * C, 'kn', at(LW.fcW), at(LW.fcS));
        plan.vector(`${p}mlp.c_fc.bias`, [4 * C], at(LW.fcB));
        plan.matrix(`${p}mlp.c_proj.weight`, 4 * C, C, 'kn', at(LW.fpW), at(LW.fpS));
        plan.vector(`${p}mlp.c_proj.bias`, [C], at(LW.fpB));
      }
      await plan.run();
      return desc;
    });
    return new Gpt2Engine(engine, config, kind, group, built.regions, built.value);
  }

  /**
   * A generation's state: a KV cache for `capacity` positions (at most n_positions) and scratch
   * for chunks of `chunk` tokens.
   */
  newState(capacity: number, chunk = DEFAULT_CHUNK): Gpt2EngineState {
    this.#assertLive();
    const { n_layer: L, n_embd: C, n_head: H, vocab_size: V, n_positions: P } = this.config;
    const cap = Math.max(1, Math.min(P, Math.floor(capacity)));
    const T = Math.max(1, Math.min(chunk, cap));
    const hd = C / H;
    const e = this.engine;
    const regions: Region[] = [];
    const alloc = (bytes: number): Region => {
      const r = e.alloc(bytes);
      regions.push(r);
      return r;
    };
    try {
      const desc = alloc(S.WORDS * 4);
      const words = [
        alloc(L * H * cap * hd * 4).ptr,
        alloc(L * H * cap * hd * 4).ptr,
        cap,
        T,
        alloc(T * C * 4).ptr,
        alloc(T * C * 4).ptr,
        alloc(T * 3 * C * 4).ptr,
        alloc(T * C * 4).ptr,
        alloc(T * 4 * C * 4).ptr,
        alloc(e.threads * cap * 4).ptr,
        alloc(V * 4).ptr,
        alloc(C * 4).ptr,
        alloc(T * 4).ptr,
        // Quantized models: each thread's quantized input rows and their group scales.
        this.kind === 'float32' ? 0 : alloc(e.threads * T * 4 * C * 2).ptr,
        this.kind === 'float32' ? 0 : alloc(e.threads * T * ((4 * C) / this.group) * 4).ptr,
      ];
      const view = e.u32(desc, S.WORDS);
      view.fill(0);
      words.forEach((w, i) => (view[i] = w >>> 0));
      return new Gpt2EngineState(e, desc, cap, T, regions);
    } catch (err) {
      regions.forEach((r) => e.free(r));
      throw err;
    }
  }

  /**
   * Runs `ids` (the next tokens) through the model in chunks, appending to `state`; returns the
   * logits of the last position (a copy), or nothing with `logits: false`.
   */
  forward(state: Gpt2EngineState, ids: readonly number[], options: { logits?: boolean } = {}): Float32Array {
    this.#assertLive();
    if (ids.length === 0) throw new RangeError('forward() needs at least one token');
    if (state.length + ids.length > state.capacity) throw new RangeError(`context of ${state.length + ids.length} tokens exceeds this state's ${state.capacity} positions`);
    const V = this.config.vocab_size;
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary (${V})`);
    const want = options.logits !== false;
    const st = this.engine.u32(state.desc, S.WORDS);
    const idsPtr = st[S.IDS] as number;
    const logitsPtr = st[S.LOGITS] as number;
    for (let i = 0; i < ids.length; i += state.chunk) {
      const part = ids.slice(i, i + state.chunk);
      new Int32Array(this.engine.memory.buffer, idsPtr, part.length).set(part);
      const last = i + state.chunk >= ids.length;
      this.engine.run(JOB.gpt2, [this.#desc.ptr, state.desc.ptr, idsPtr, part.length, state.length, last && want ? 1 : 0]);
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
    if (this.#disposed) throw new Error('this model was disposed');
  }
}
