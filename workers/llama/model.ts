/**
 * Llama-family decoders written with tfjs ops (WebGPU, CPU), with a KV cache: the same model as
 * the engine's `JOB_LLAMA` (RMSNorm, rotary positions, SwiGLU, grouped-query attention, q/k/v
 * biases, tied or separate head), for the backends the engine does not run on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { SafeTensor } from '../gpt2/safetensors.js';
import { ropeInverseFrequencies, type LlamaConfig } from './config.js';

interface Layer {
  inNorm: tf.Tensor1D;
  q: tf.Tensor2D;
  k: tf.Tensor2D;
  v: tf.Tensor2D;
  qb?: tf.Tensor1D;
  kb?: tf.Tensor1D;
  vb?: tf.Tensor1D;
  o: tf.Tensor2D;
  postNorm: tf.Tensor1D;
  gate: tf.Tensor2D;
  up: tf.Tensor2D;
  down: tf.Tensor2D;
}

/** One generation's keys and values ([kvHeads, positions, headDim] per layer). */
export class LlamaKvCache {
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
 * @example
 * const lm = LlamaModel.fromTensors(config, readSafetensors(bytes));
 * const logits = lm.step([1, 450], new LlamaKvCache(config.layers)); // tf.Tensor1D of the vocabulary
 */
export class LlamaModel {
  readonly #embed: tf.Tensor2D;
  /** The head, transposed to [hidden, vocab] only when separate; tied heads multiply by the embedding with transposeB. */
  readonly #head: tf.Tensor2D | undefined;
  readonly #norm: tf.Tensor1D;
  readonly #layers: Layer[] = [];
  readonly #inv: tf.Tensor1D;
  readonly #all: tf.Tensor[] = [];

  private constructor(
    readonly config: LlamaConfig,
    get: (name: string, shape: number[]) => tf.Tensor,
    has: (name: string) => boolean,
  ) {
    const { layers: L, hidden: C, heads: H, kvHeads: KVH, headDim: hd, vocab: V, intermediate: I } = config;
    const keep = <T extends tf.Tensor>(t: T): T => {
      this.#all.push(t);
      return t;
    };
    // nn.Linear weights are [out, in]: y = x · Wᵀ, transposed once here.
    const linear = (name: string, out: number, inp: number): tf.Tensor2D => {
      const w = get(name, [out, inp]);
      const t = keep(tf.transpose(w) as tf.Tensor2D);
      w.dispose();
      return t;
    };
    this.#embed = keep(get('model.embed_tokens.weight', [V, C]) as tf.Tensor2D);
    this.#head = !config.tied && has('lm_head.weight') ? linear('lm_head.weight', V, C) : undefined;
    this.#norm = keep(get('model.norm.weight', [C]) as tf.Tensor1D);
    for (let l = 0; l < L; l++) {
      const p = `model.layers.${l}.`;
      const layer: Layer = {
        inNorm: keep(get(`${p}input_layernorm.weight`, [C]) as tf.Tensor1D),
        q: linear(`${p}self_attn.q_proj.weight`, H * hd, C),
        k: linear(`${p}self_attn.k_proj.weight`, KVH * hd, C),
        v: linear(`${p}self_attn.v_proj.weight`, KVH * hd, C),
        o: linear(`${p}self_attn.o_proj.weight`, C, H * hd),
        postNorm: keep(get(`${p}post_attention_layernorm.weight`, [C]) as tf.Tensor1D),
        gate: linear(`${p}mlp.gate_proj.weight`, I, C),
        up: linear(`${p}mlp.up_proj.weight`, I, C),
        down: linear(`${p}mlp.down_proj.weight`, C, I),
      };
      if (config.qkvBias) {
        layer.qb = keep(get(`${p}self_attn.q_proj.bias`, [H * hd]) as tf.Tensor1D);
        layer.kb = keep(get(`${p}self_attn.k_proj.bias`, [KVH * hd]) as tf.Tensor1D);
        layer.vb = keep(get(`${p}self_attn.v_proj.bias`, [KVH * hd]) as tf.Tensor1D);
      }
      this.#layers.push(layer);
    }
    this.#inv = keep(tf.tensor1d(Float32Array.from(ropeInverseFrequencies(config))));
  }

  /** Builds the model from safetensors tensors named as in Hugging Face's LlamaForCausalLM. */
  static fromTensors(config: LlamaConfig, tensors: ReadonlyMap<string, SafeTensor>, where = 'model.safetensors'): LlamaModel {
    const created: tf.Tensor[] = [];
    try {
      return new LlamaModel(
        config,
        (name, shape) => {
          const t = tensors.get(name);
          if (!t) throw new ManifestError(`${where}: tensor ${name} is missing`, { url: where, issues: [`missing ${name}`] });
          if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
            throw new ManifestError(`${where}: ${name} has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`, { url: where, issues: [`shape of ${name}`] });
          }
          const tensor = tf.tensor(t.data, shape, 'float32');
          created.push(tensor);
          return tensor;
        },
        (name) => tensors.has(name),
      );
    } catch (e) {
      created.forEach((t) => t.dispose());
      throw e;
    }
  }

  #rms(x: tf.Tensor2D, w: tf.Tensor1D): tf.Tensor2D {
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.config.eps))), w);
  }

  /** Rotary embedding of x [heads, T, hd] at positions start…start+T-1 (rotate-half convention). */
  #rope(x: tf.Tensor3D, start: number, T: number): tf.Tensor3D {
    const hd = this.config.headDim;
    const pos = tf.reshape(tf.range(start, start + T, 1, 'float32'), [T, 1]);
    const ang = tf.mul(pos, tf.reshape(this.#inv, [1, hd / 2])); // [T, hd/2]
    const cos = tf.concat([tf.cos(ang), tf.cos(ang)], 1);
    const sin = tf.concat([tf.sin(ang), tf.sin(ang)], 1);
    const [a, b] = tf.split(x, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
    const rot = tf.concat([tf.neg(b), a], 2);
    return tf.add(tf.mul(x, cos), tf.mul(rot, sin));
  }

  /** Runs the next tokens, appending to `cache`; the last position's logits ([vocab], owned by the caller). */
  step(ids: readonly number[], cache: LlamaKvCache): tf.Tensor1D {
    const { heads: H, kvHeads: KVH, headDim: hd, hidden: C, positions } = this.config;
    const T = ids.length;
    const start = cache.length;
    if (T === 0) throw new RangeError('step() needs at least one token');
    if (start + T > positions) throw new RangeError(`context of ${start + T} tokens exceeds max_position_embeddings ${positions}`);
    const S = start + T;
    const groups = H / KVH;
    const newKeys: tf.Tensor3D[] = [];
    const newValues: tf.Tensor3D[] = [];
    const logits = tf.tidy(() => {
      let x: tf.Tensor2D = tf.gather(this.#embed, tf.tensor1d(Array.from(ids), 'int32'));
      let mask: tf.Tensor2D | undefined;
      if (T > 1) {
        const data = new Float32Array(T * S);
        for (let i = 0; i < T; i++) for (let j = start + i + 1; j < S; j++) data[i * S + j] = -1e9;
        mask = tf.tensor2d(data, [T, S]);
      }
      this.#layers.forEach((l, li) => {
        const h = this.#rms(x, l.inNorm);
        const proj = (w: tf.Tensor2D, b: tf.Tensor1D | undefined, heads: number): tf.Tensor3D => {
          const y = b ? tf.add(tf.matMul(h, w), b) : tf.matMul(h, w);
          return tf.transpose(tf.reshape(y, [T, heads, hd]), [1, 0, 2]);
        };
        const q = this.#rope(proj(l.q, l.qb, H), start, T);
        const k = this.#rope(proj(l.k, l.kb, KVH), start, T);
        const v = proj(l.v, l.vb, KVH);
        const pk = cache.keys[li];
        const pv = cache.values[li];
        const K = pk ? tf.concat([pk, k], 1) : k;
        const Vv = pv ? tf.concat([pv, v], 1) : v;
        newKeys.push(tf.keep(K));
        newValues.push(tf.keep(Vv));
        // Grouped-query attention: each key/value head serves `groups` query heads.
        const Kr = groups === 1 ? K : tf.reshape(tf.tile(tf.reshape(K, [KVH, 1, S, hd]), [1, groups, 1, 1]), [H, S, hd]);
        const Vr = groups === 1 ? Vv : tf.reshape(tf.tile(tf.reshape(Vv, [KVH, 1, S, hd]), [1, groups, 1, 1]), [H, S, hd]);
        let att = tf.mul(tf.matMul(q, Kr, false, true), 1 / Math.sqrt(hd)); // [H, T, S]
        if (mask) att = tf.add(att, mask);
        const y = tf.reshape(tf.transpose(tf.matMul(tf.softmax(att, -1), Vr), [1, 0, 2]), [T, H * hd]);
        x = tf.add(x, tf.matMul(y, l.o));
        const h2 = this.#rms(x, l.postNorm);
        const g = tf.matMul(h2, l.gate);
        const mlp = tf.matMul(tf.mul(tf.mul(g, tf.sigmoid(g)), tf.matMul(h2, l.up)), l.down);
        x = tf.add(x, mlp);
      });
      const last = this.#rms(tf.slice(x, [T - 1, 0], [1, C]), this.#norm);
      const out = this.#head ? tf.matMul(last, this.#head) : tf.matMul(last, this.#embed, false, true);
      return tf.reshape(out, [-1]) as tf.Tensor1D;
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
