/**
 * GPT-2's decoder (`GPT2LMHeadModel`) written with tfjs ops, with a KV cache.
 *
 * Pre-norm blocks: `x += attn(ln_1(x)); x += mlp(ln_2(x))`, causal multi-head
 * attention (matMul, additive mask, softmax), tanh GELU, final `ln_f` and the head
 * tied to `wte`. Conv1D weights are `[in, out]`, so `y = x · W + b`.
 *
 * The cache holds, per layer, keys and values `[heads, positions, headDim]`; a step
 * with T new tokens costs T positions, not the whole prefix. Tensors of each step live
 * in `tf.tidy`; the cache is kept explicitly and disposed with the session.
 */
import * as tf from '@tensorflow/tfjs-core';
import { geluTanh, layerNorm } from './wasm-kernels.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { Gpt2Config } from './config.js';
import type { SafeTensor } from './safetensors.js';

interface Layer {
  ln1g: tf.Tensor1D;
  ln1b: tf.Tensor1D;
  attnW: tf.Tensor2D;
  attnB: tf.Tensor1D;
  projW: tf.Tensor2D;
  projB: tf.Tensor1D;
  ln2g: tf.Tensor1D;
  ln2b: tf.Tensor1D;
  fcW: tf.Tensor2D;
  fcB: tf.Tensor1D;
  fcProjW: tf.Tensor2D;
  fcProjB: tf.Tensor1D;
}

/** One generation's state: the cached keys/values of every layer and the positions seen. */
export class KvCache {
  keys: Array<tf.Tensor3D | undefined>;
  values: Array<tf.Tensor3D | undefined>;
  length = 0;
  constructor(layers: number) {
    this.keys = new Array<tf.Tensor3D | undefined>(layers).fill(undefined);
    this.values = new Array<tf.Tensor3D | undefined>(layers).fill(undefined);
  }
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.length = 0;
  }
}


/**
 * A loaded GPT-2.
 *
 * @example
 * const lm = Gpt2Model.fromTensors(config, readSafetensors(bytes));
 * const cache = new KvCache(config.n_layer);
 * const logits = lm.step([464, 3290], cache); // tf.Tensor1D of vocab_size; cache.length === 2
 */
export class Gpt2Model {
  readonly #wte: tf.Tensor2D;
  readonly #wpe: tf.Tensor2D;
  readonly #layers: Layer[];
  readonly #lnfG: tf.Tensor1D;
  readonly #lnfB: tf.Tensor1D;
  readonly #all: tf.Tensor[] = [];

  private constructor(
    readonly config: Gpt2Config,
    get: (name: string, shape: number[]) => tf.Tensor,
  ) {
    const { n_layer: L, n_embd: C, n_positions: P, vocab_size: V } = config;
    const keep = <T extends tf.Tensor>(t: T): T => {
      this.#all.push(t);
      return t;
    };
    this.#wte = keep(get('transformer.wte.weight', [V, C]) as tf.Tensor2D);
    this.#wpe = keep(get('transformer.wpe.weight', [P, C]) as tf.Tensor2D);
    this.#lnfG = keep(get('transformer.ln_f.weight', [C]) as tf.Tensor1D);
    this.#lnfB = keep(get('transformer.ln_f.bias', [C]) as tf.Tensor1D);
    this.#layers = [];
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}.`;
      this.#layers.push({
        ln1g: keep(get(`${p}ln_1.weight`, [C]) as tf.Tensor1D),
        ln1b: keep(get(`${p}ln_1.bias`, [C]) as tf.Tensor1D),
        attnW: keep(get(`${p}attn.c_attn.weight`, [C, 3 * C]) as tf.Tensor2D),
        attnB: keep(get(`${p}attn.c_attn.bias`, [3 * C]) as tf.Tensor1D),
        projW: keep(get(`${p}attn.c_proj.weight`, [C, C]) as tf.Tensor2D),
        projB: keep(get(`${p}attn.c_proj.bias`, [C]) as tf.Tensor1D),
        ln2g: keep(get(`${p}ln_2.weight`, [C]) as tf.Tensor1D),
        ln2b: keep(get(`${p}ln_2.bias`, [C]) as tf.Tensor1D),
        fcW: keep(get(`${p}mlp.c_fc.weight`, [C, 4 * C]) as tf.Tensor2D),
        fcB: keep(get(`${p}mlp.c_fc.bias`, [4 * C]) as tf.Tensor1D),
        fcProjW: keep(get(`${p}mlp.c_proj.weight`, [4 * C, C]) as tf.Tensor2D),
        fcProjB: keep(get(`${p}mlp.c_proj.bias`, [C]) as tf.Tensor1D),
      });
    }
  }

  /**
   * Builds the model from safetensors tensors named as in `GPT2LMHeadModel`
   * (a `transformer.` prefix is optional, as in checkpoints saved from `GPT2Model`).
   * The output head is tied to `wte` (`lm_head.weight`, if present, is ignored).
   */
  static fromTensors(config: Gpt2Config, tensors: ReadonlyMap<string, SafeTensor>, where = 'model.safetensors'): Gpt2Model {
    const created: tf.Tensor[] = [];
    try {
      return new Gpt2Model(config, (name, shape) => {
        const t = tensors.get(name) ?? tensors.get(name.replace(/^transformer\./, ''));
        if (!t) throw new ManifestError(`${where}: tensor ${name} is missing`, { url: where, issues: [`missing ${name}`] });
        const ok = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
        if (!ok) throw new ManifestError(`${where}: ${name} has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`, { url: where, issues: [`shape of ${name}`] });
        const tensor = tf.tensor(t.data, shape, 'float32');
        created.push(tensor);
        return tensor;
      });
    } catch (e) {
      created.forEach((t) => t.dispose());
      throw e;
    }
  }

  #layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor2D {
    return layerNorm(x, g, b, this.config.layer_norm_epsilon);
  }

  #gelu(x: tf.Tensor): tf.Tensor {
    // GPT-2's tanh approximation ("gelu_new").
    return geluTanh(x);
  }

  /** Additive causal mask [T, S]: query i (at position S-T+i) sees keys 0…S-T+i. Only for multi-token steps (the prompt). */
  #mask(T: number, S: number): tf.Tensor2D {
    const data = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = S - T + i + 1; j < S; j++) data[i * S + j] = -1e9;
    return tf.tensor2d(data, [T, S]);
  }

  /**
   * Runs `ids` (the next tokens) through the model, appending to `cache`; returns the
   * logits of the last position (`[vocab_size]`, owned by the caller).
   */
  step(ids: readonly number[], cache: KvCache): tf.Tensor1D {
    const { n_head: H, n_embd: C, n_positions: P } = this.config;
    const T = ids.length;
    const start = cache.length;
    if (T === 0) throw new RangeError('step() needs at least one token');
    if (start + T > P) throw new RangeError(`context of ${start + T} tokens exceeds n_positions ${P}`);
    const hd = C / H;
    const S = start + T;
    const newKeys: tf.Tensor3D[] = [];
    const newValues: tf.Tensor3D[] = [];
    const logits = tf.tidy(() => {
      const mask = T > 1 ? this.#mask(T, S) : undefined;
      const idx = tf.tensor1d(Array.from(ids), 'int32');
      let x: tf.Tensor2D = tf.add(tf.gather(this.#wte, idx), tf.slice(this.#wpe, [start, 0], [T, C]));
      this.#layers.forEach((l, li) => {
        const h = this.#layerNorm(x, l.ln1g, l.ln1b);
        // Bias adds ride inside the matMul kernel (one op, not two); with one new token the head
        // split/merge transposes are plain reshapes (a dimension of size 1 moves for free).
        const qkv = tf.fused.matMul({ a: h, b: l.attnW, bias: l.attnB });
        const heads = (t: tf.Tensor2D): tf.Tensor3D => (T === 1 ? tf.reshape(t, [H, 1, hd]) : tf.transpose(tf.reshape(t, [T, H, hd]), [1, 0, 2]));
        const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const pk = cache.keys[li];
        const pv = cache.values[li];
        const K = pk ? tf.concat([pk, heads(k)], 1) : heads(k);
        const Vv = pv ? tf.concat([pv, heads(v)], 1) : heads(v);
        newKeys.push(tf.keep(K));
        newValues.push(tf.keep(Vv));
        let att = tf.mul(tf.matMul(heads(q), K, false, true), 1 / Math.sqrt(hd)); // [H, T, S]
        if (mask) att = tf.add(att, mask);
        const yh = tf.matMul(tf.softmax(att, -1), Vv); // [H, T, hd]
        const y = T === 1 ? tf.reshape(yh, [1, C]) : tf.reshape(tf.transpose(yh, [1, 0, 2]), [T, C]);
        x = tf.add(x, tf.fused.matMul({ a: y, b: l.projW, bias: l.projB }));
        const h2 = this.#layerNorm(x, l.ln2g, l.ln2b);
        const m = tf.fused.matMul({ a: this.#gelu(tf.fused.matMul({ a: h2, b: l.fcW, bias: l.fcB })) as tf.Tensor2D, b: l.fcProjW, bias: l.fcProjB });
        x = tf.add(x, m);
      });
      const last = this.#layerNorm(tf.slice(x, [T - 1, 0], [1, C]), this.#lnfG, this.#lnfB);
      return tf.reshape(tf.matMul(last, this.#wte, false, true), [-1]) as tf.Tensor1D;
    });
    for (let li = 0; li < this.#layers.length; li++) {
      cache.keys[li]?.dispose();
      cache.values[li]?.dispose();
      cache.keys[li] = newKeys[li];
      cache.values[li] = newValues[li];
    }
    cache.length = S;
    return logits;
  }

  dispose(): void {
    for (const t of this.#all) t.dispose();
  }
}
