/**
 * Latent vectors of image generators: the seeded sampler (`mulberry32-box-muller`, declared in each
 * generator's card) and the checks of `generate()`, `decode()` and `interpolate()` arguments. Shared by
 * the main thread (checks, interpolation) and the worker (sampling). No dependencies.
 */
import { InvalidInputError } from './errors/invalid-input.js';
import { seededRandom } from './random.js';

/** Most pictures one `generate()` call makes. */
export const MAX_COUNT = 64;
/** Most latents one `decode()` call takes, and most steps of one `interpolate()`. */
export const MAX_LATENTS = 256;

/**
 * `count` standard-normal latent vectors of length `dim` from `seed` (mulberry32, then Box–Muller in
 * float64, pairs in order). Vector k is the same whatever `count` is, so `generate({ count: 8, seed })`
 * begins with the pictures of `generate({ count: 1, seed })`.
 *
 * @example
 * sampleLatents(42, 2, 16).map((z) => z.length); // [16, 16]
 * sampleLatents(42, 1, 16)[0]![0] === sampleLatents(42, 5, 16)[0]![0]; // true
 */
export function sampleLatents(seed: number, count: number, dim: number): Float32Array[] {
  const next = seededRandom(seed);
  const all = new Float32Array(count * dim);
  for (let i = 0; i < all.length; i += 2) {
    const u1 = 1 - next(); // (0, 1]: log never sees 0
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    all[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < all.length) all[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return Array.from({ length: count }, (_, k) => all.slice(k * dim, (k + 1) * dim));
}

/**
 * Checks `count` of `generate()`: an integer in 1..{@link MAX_COUNT}. Default 1.
 *
 * @example
 * checkCount(0); // throws InvalidInputError (reason 'bad-count', field 'count')
 */
export function checkCount(count: unknown): number {
  if (count === undefined) return 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new InvalidInputError(`count must be an integer from 1 to ${MAX_COUNT}, got ${String(count)}`, { reason: 'bad-count', field: 'count' });
  }
  return count;
}

/**
 * Checks a seed: an integer in 0..2³²−1. Without one, a random seed is drawn (and reported in the result).
 *
 * @example
 * checkSeed(1.5); // throws InvalidInputError (reason 'bad-seed', field 'seed')
 */
export function checkSeed(seed: unknown): number {
  if (seed === undefined) return Math.floor(Math.random() * 4294967296);
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new InvalidInputError(`seed must be an integer from 0 to 4294967295, got ${String(seed)}`, { reason: 'bad-seed', field: 'seed' });
  }
  return seed;
}

/**
 * Checks one latent vector and copies it to a Float32Array of length `dim` (finite numbers only).
 *
 * @example
 * checkLatent([0, 1], 16, 'latents[0]'); // throws InvalidInputError: latents[0] has 2 values, the model's latentDim is 16 (reason 'bad-latent-size')
 */
export function checkLatent(latent: unknown, dim: number, field: string): Float32Array {
  const isArray = Array.isArray(latent) || latent instanceof Float32Array || latent instanceof Float64Array;
  if (!isArray) throw new InvalidInputError(`${field} must be a Float32Array or an array of numbers, got ${latent === null ? 'null' : typeof latent}`, { reason: 'bad-latent-type', field });
  const values = latent as ArrayLike<unknown>;
  if (values.length !== dim) throw new InvalidInputError(`${field} has ${values.length} values, the model's latentDim is ${dim}`, { reason: 'bad-latent-size', field });
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new InvalidInputError(`${field}[${i}] is not a finite number (${String(x)})`, { reason: 'not-finite', field });
    out[i] = x;
  }
  return out;
}

/**
 * Checks the `steps` of `interpolate()`: an integer in 2..{@link MAX_LATENTS} (both ends included).
 *
 * @example
 * checkSteps(1); // throws InvalidInputError (reason 'bad-steps', field 'steps')
 */
export function checkSteps(steps: unknown): number {
  if (steps === undefined) return 8;
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 2 || steps > MAX_LATENTS) {
    throw new InvalidInputError(`steps must be an integer from 2 to ${MAX_LATENTS}, got ${String(steps)}`, { reason: 'bad-steps', field: 'steps' });
  }
  return steps;
}

/**
 * `steps` latents from `a` to `b`, both included: linear, or spherical (`slerp`, which keeps the norm of
 * Gaussian latents typical; falls back to linear when a and b are nearly parallel).
 *
 * @example
 * interpolateLatents(new Float32Array([0, 0]), new Float32Array([1, 2]), 3, 'linear'); // [[0,0],[0.5,1],[1,2]]
 */
export function interpolateLatents(a: Float32Array, b: Float32Array, steps: number, mode: 'linear' | 'slerp'): Float32Array[] {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  const cos = na > 0 && nb > 0 ? Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))) : 1;
  const omega = Math.acos(cos);
  const spherical = mode === 'slerp' && Math.sin(omega) > 1e-6;
  return Array.from({ length: steps }, (_, s) => {
    const t = s / (steps - 1);
    const [wa, wb] = spherical ? [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)] : [1 - t, t];
    const z = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) z[i] = wa * (a[i] as number) + wb * (b[i] as number);
    return z;
  });
}
