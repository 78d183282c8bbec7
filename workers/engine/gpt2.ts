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
import { packedLength, packFloatRows, quantizedBytes, scaleCount, type MatrixLayout } from '../../src/shared/quant/panels.js';
import type { Gpt2Config } from '../gpt2/config.js';
import { Engine, JOB, type Region } from './engine.js';
import { nextTask } from '../queues/next-task.js';
import { toFloat32, type TensorEntry, type TensorSource } from './tensors.js';

/** How the weights are held. */
export type WeightKind = 'float32' | 'int8' | 'int4';
const KIND_CODE: Record<WeightKind, number> = { float32: 0, int8: 1, int4: 2 };

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

function f32Bits(x: number): number {
  const b = new Float32Array([x]);
  return new Uint32Array(b.buffer)[0] as number;
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

  /** Runs `build` with an allocator that records its regions; frees them all if it fails. */
  static async #build(engine: Engine, build: (alloc: (bytes: number) => Region) => Promise<Region>): Promise<{ regions: Region[]; desc: Region }> {
    const regions: Region[] = [];
    try {
      const desc = await build((bytes) => {
        const r = engine.alloc(bytes);
        regions.push(r);
        return r;
      });
      return { regions, desc };
    } catch (e) {
      regions.forEach((r) => engine.free(r));
      throw e;
    }
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
    const pause = options.yieldToEvents ?? nextTask;
    const { n_layer: L, n_embd: C, n_head: H, vocab_size: V, n_positions: P } = config;
    const quant = tensors.metadata['webinfer.quantization'];
    const kind: WeightKind = quant === 'int8' ? 'int8' : quant === 'int4' ? 'int4' : 'float32';
    const group = kind === 'float32' ? 0 : Number(tensors.metadata['webinfer.group']);
    if (kind !== 'float32' && (!Number.isInteger(group) || group <= 0 || C % group !== 0 || (4 * C) % group !== 0)) {
      throw new ManifestError(`${where}: webinfer.group ${String(tensors.metadata['webinfer.group'])} does not divide n_embd ${C}`, { url: where, issues: ['webinfer.group'] });
    }
    const bad = (why: string): never => {
      throw new ManifestError(`${where}: ${why}`, { url: where, issues: [why] });
    };
    const find = (name: string, suffix = ''): TensorEntry | undefined => tensors.get(name + suffix) ?? tensors.get(name.replace(/^transformer\./, '') + suffix);
    const need = (name: string, shape: number[]): TensorEntry => {
      const e = find(name);
      if (!e) return bad(`tensor ${name} is missing`);
      if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) bad(`${name} has shape [${e.shape.join(', ')}], config.json implies [${shape.join(', ')}]`);
      if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') bad(`${name} is ${e.dtype}, expected a float tensor`);
      return e;
    };
    const built = await Gpt2Engine.#build(engine, async (alloc) => {
      const words = M.LAYERS + M.PER_LAYER * L;
      const desc = alloc(words * 4);
      const set = (i: number, v: number): void => {
        // A fresh view each time: packing may have grown the memory (a non-shared buffer detaches).
        new Uint32Array(engine.memory.buffer, desc.ptr, words)[i] = v >>> 0;
      };
      new Uint32Array(engine.memory.buffer, desc.ptr, words).fill(0);
      set(M.L, L);
      set(M.C, C);
      set(M.H, H);
      set(M.V, V);
      set(M.P, P);
      set(M.KIND, KIND_CODE[kind]);
      set(M.G, group);
      set(M.EPS, f32Bits(config.layer_norm_epsilon));
      /** A tensor's bytes [start, end), read without copying the whole tensor where the source can. */
      const range = (e: TensorEntry, start: number, end: number): Uint8Array => (tensors.readRange ? tensors.readRange(e, start, end) : tensors.read(e).subarray(start, end));
      /** Copies a tensor's raw bytes into a region, piece by piece (no copy of the whole tensor). */
      const copy = async (e: TensorEntry, r: Region): Promise<void> => {
        const piece = 1 << 22;
        for (let at = 0; at < e.bytes; at += piece) {
          engine.u8(r, e.bytes).set(range(e, at, Math.min(e.bytes, at + piece)), at);
          await breathe();
        }
      };
      // The plan: every tensor the model needs, its slot(s) in the descriptor, and how it is laid out.
      const jobs: { entries: TensorEntry[]; run: () => void | Promise<void> }[] = [];
      // One task hop after every ~20 ms of copying: the worker keeps answering heartbeats and aborts during a long load.
      let since = performance.now();
      const breathe = async (): Promise<void> => {
        if (performance.now() - since > 20) {
          await pause();
          since = performance.now();
        }
      };
      const floats = (name: string, shape: number[], slot: number): void => {
        const e = need(name, shape);
        jobs.push({
          entries: [e],
          run: () => {
            const count = shape.reduce((a, b) => a * b, 1);
            const r = alloc(count * 4);
            toFloat32(tensors.read(e), e.dtype, engine.f32(r, count));
            set(slot, r.ptr);
          },
        });
      };
      /** A K×N matrix: float panels packed row by row, or the quantizer's panels and scales copied in. */
      const matrix = (name: string, K: number, N: number, layout: MatrixLayout, wSlot: number, sSlot: number): void => {
        if (kind === 'float32') {
          const e = need(name, layout === 'kn' ? [K, N] : [N, K]);
          jobs.push({
            entries: [e],
            run: async () => {
              const elem = e.dtype === 'F32' ? 4 : 2;
              const rowBytes = (layout === 'kn' ? N : K) * elem;
              const rows = layout === 'kn' ? K : N;
              const r = alloc(packedLength(K, N) * 4);
              engine.f32(r, packedLength(K, N)).fill(0);
              const step = Math.max(1, Math.floor((1 << 20) / Math.max(1, layout === 'kn' ? N : K)));
              for (let from = 0; from < rows; from += step) {
                // A fresh view per slice: the memory may have grown (a non-shared buffer detaches).
                packFloatRows((i, out) => toFloat32(range(e, i * rowBytes, (i + 1) * rowBytes), e.dtype, out), layout, K, N, engine.f32(r, packedLength(K, N)), from, Math.min(rows, from + step));
                await breathe();
              }
              set(wSlot, r.ptr);
            },
          });
          return;
        }
        const bits = kind === 'int8' ? 8 : 4;
        const qe = find(name, bits === 8 ? '.wi_q8' : '.wi_q4');
        const se = find(name, '.wi_scales');
        if (!qe || !se) return bad(`${name}: the ${kind} file has no ${name}${bits === 8 ? '.wi_q8' : '.wi_q4'} / .wi_scales`);
        if (qe.bytes !== quantizedBytes(K, N, bits) || se.bytes !== scaleCount(K, N, group) * 4 || se.dtype !== 'F32') bad(`${name}: quantized tensors do not match [${K}, ${N}] with groups of ${group}`);
        jobs.push({
          entries: [qe],
          run: async () => {
            const q = alloc(qe.bytes);
            await copy(qe, q);
            set(wSlot, q.ptr);
          },
        });
        jobs.push({
          entries: [se],
          run: async () => {
            const sc = alloc(se.bytes);
            await copy(se, sc);
            set(sSlot, sc.ptr);
          },
        });
      };
      if (H <= 0 || C % H !== 0) bad(`n_embd ${C} is not a multiple of n_head ${H}`);
      matrix('transformer.wte.weight', C, V, 'nk', M.WTE, M.WTES);
      floats('transformer.wpe.weight', [P, C], M.WPE);
      floats('transformer.ln_f.weight', [C], M.LNFG);
      floats('transformer.ln_f.bias', [C], M.LNFB);
      for (let l = 0; l < L; l++) {
        const p = `transformer.h.${l}.`;
        const at = (w: number): number => M.LAYERS + l * M.PER_LAYER + w;
        floats(`${p}ln_1.weight`, [C], at(LW.ln1g));
        floats(`${p}ln_1.bias`, [C], at(LW.ln1b));
        matrix(`${p}attn.c_attn.weight`, C, 3 * C, 'kn', at(LW.attW), at(LW.attS));
        floats(`${p}attn.c_attn.bias`, [3 * C], at(LW.attB));
        matrix(`${p}attn.c_proj.weight`, C, C, 'kn', at(LW.projW), at(LW.projS));
        floats(`${p}attn.c_proj.bias`, [C], at(LW.projB));
        floats(`${p}ln_2.weight`, [C], at(LW.ln2g));
        floats(`${p}ln_2.bias`, [C], at(LW.ln2b));
        matrix(`${p}mlp.c_fc.weight`, C, 4 * C, 'kn', at(LW.fcW), at(LW.fcS));
        floats(`${p}mlp.c_fc.bias`, [4 * C], at(LW.fcB));
        matrix(`${p}mlp.c_proj.weight`, 4 * C, C, 'kn', at(LW.fpW), at(LW.fpS));
        floats(`${p}mlp.c_proj.bias`, [C], at(LW.fpB));
      }
      // In file order: each chunk of the file is released as soon as its tensors are in the engine.
      const order = new Map(tensors.names().map((n, i) => [n, i]));
      const pos = (job: { entries: TensorEntry[] }): number => Math.min(...job.entries.map((e) => order.get(e.name) ?? 0));
      jobs.sort((a, b) => pos(a) - pos(b));
      for (const job of jobs) {
        await job.run();
        job.entries.forEach((e) => tensors.done?.(e));
        await breathe();
      }
      return desc;
    });
    return new Gpt2Engine(engine, config, kind, group, built.regions, built.desc);
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
