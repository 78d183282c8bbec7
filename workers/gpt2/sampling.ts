/**
 * Choosing the next token from logits: greedy (`temperature: 0`), or temperature,
 * top-k and top-p (nucleus) sampling with a seeded generator. Pure TypeScript.
 */

export { seededRandom } from '../../src/shared/random.js';

export interface SamplingOptions {
  /** 0 = greedy. */
  readonly temperature: number;
  /** Keep the k most likely tokens (0 = all). */
  readonly topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = all). */
  readonly topP: number;
}

/** Index of the largest value (lowest index on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if ((x[i] as number) > (x[best] as number)) best = i;
  return best;
}

/**
 * Picks the next token id.
 *
 * @example
 * sampleToken(new Float32Array([0, 5, 1]), { temperature: 0, topK: 0, topP: 1 }, Math.random); // 1
 */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, random: () => number): number {
  if (o.temperature === 0) return argmax(logits);
  const n = logits.length;
  let order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  if (o.topK > 0 && o.topK < n) order = order.slice(0, o.topK);
  const max = logits[order[0] as number] as number;
  const p = order.map((i) => Math.exp(((logits[i] as number) - max) / o.temperature));
  let sum = p.reduce((s, x) => s + x, 0);
  if (o.topP < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < p.length) {
      acc += (p[keep] as number) / sum;
      keep++;
      if (acc >= o.topP) break;
    }
    order = order.slice(0, keep);
    p.length = keep;
    sum = p.reduce((s, x) => s + x, 0);
  }
  let r = random() * sum;
  for (let i = 0; i < p.length; i++) {
    r -= p[i] as number;
    if (r < 0) return order[i] as number;
  }
  return order[order.length - 1] as number;
}
