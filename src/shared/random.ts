/**
 * The project's one seeded PRNG (mulberry32), used by text sampling (worker) and by the image generators'
 * latents (both sides). No dependencies.
 */

/**
 * mulberry32: a 32-bit seeded PRNG; each call gives a float in [0, 1) with 32 random bits. The same seed gives
 * the same numbers everywhere.
 *
 * @example
 * const next = seededRandom(7);
 * next(); // 0 ≤ x < 1, the same for seed 7 on every machine
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
