/**
 * Options of `generate()` / `generateText()`: checked on the main thread (a bad value
 * fails at once with InvalidInputError, before anything reaches the worker) and
 * completed with their defaults.
 */
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import type { GenerateOptionsWire } from '../shared/wire.js';

/** Options of `generate()` and `generateText()`. */
export interface GenerateOptions {
  /** Most tokens to generate. Default 64; at most 4096 (the model's context also bounds it). */
  readonly maxTokens?: number;
  /** 0 = greedy (always the most likely token). Default 1. */
  readonly temperature?: number;
  /** Sample among the k most likely tokens (0 = all). Default 0. */
  readonly topK?: number;
  /** Nucleus sampling: the smallest set of tokens whose probability reaches p. Default 1 (off). */
  readonly topP?: number;
  /** Same seed, same backend → same tokens. Default: random. */
  readonly seed?: number;
  /** Generation ends before any of these strings; the result's text excludes it. */
  readonly stop?: readonly string[];
  /** End at the model's end-of-sequence token (default true). With false it is emitted like any token and generation goes on (parity tests, benchmarks). */
  readonly stopAtEos?: boolean;
  /** Stops the generation within one token; the result has `finishReason: 'abort'` and the text so far. */
  readonly signal?: AbortSignal;
  /** Time limit of the whole call (queue included). Default: none beyond the worker's heartbeat. */
  readonly timeoutMs?: number;
  /**
   * Keep each layer's keys and values between steps (default true), so a new token costs one
   * position. `false` recomputes the whole sequence at every step, like a model without a KV
   * cache: same tokens, much slower — a baseline for benchmarks and a check of the cache.
   */
  readonly useCache?: boolean;
  /** Streaming batch size in tokens (default 8; the first token is always sent at once). */
  readonly streamTokens?: number;
  /** Streaming: send a batch at least this often, ms (default 50; 0 = only by count). */
  readonly streamMs?: number;
}

const MAX_TOKENS = 4096;

function num(field: string, v: unknown, def: number, ok: (n: number) => boolean, rule: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new InvalidInputError(`${field} must be ${rule}, got ${typeof v === 'number' ? v : typeof v}`, { reason: 'bad-option', field });
  }
  return v;
}

/**
 * Checks options and fills in defaults.
 *
 * @example
 * checkGenerateOptions({ temperature: 0 }); // { maxTokens: 64, temperature: 0, topK: 0, topP: 1, stop: [], stopAtEos: true, useCache: true, flushTokens: 8, flushMs: 50 }
 * checkGenerateOptions({ topP: 2 }); // throws InvalidInputError (field 'topP')
 */
export function checkGenerateOptions(o: GenerateOptions = {}): GenerateOptionsWire {
  if (typeof o !== 'object' || o === null) throw new InvalidInputError('options must be an object', { reason: 'bad-option', field: 'options' });
  const int = (n: number): boolean => Number.isInteger(n);
  const maxTokens = num('maxTokens', o.maxTokens, 64, (n) => int(n) && n >= 1 && n <= MAX_TOKENS, `an integer in 1…${MAX_TOKENS}`);
  const temperature = num('temperature', o.temperature, 1, (n) => n >= 0 && n <= 100, 'a number in 0…100');
  const topK = num('topK', o.topK, 0, (n) => int(n) && n >= 0, 'a non-negative integer');
  const topP = num('topP', o.topP, 1, (n) => n > 0 && n <= 1, 'a number in (0, 1]');
  const seed = o.seed === undefined ? undefined : num('seed', o.seed, 0, (n) => int(n) && n >= 0 && n < 2 ** 32, 'an integer in 0…2³²-1');
  const flushTokens = num('streamTokens', o.streamTokens, 8, (n) => int(n) && n >= 1, 'a positive integer');
  const flushMs = num('streamMs', o.streamMs, 50, (n) => n >= 0, 'a non-negative number');
  const stop = o.stop ?? [];
  if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string' || s.length === 0) || stop.length > 16) {
    throw new InvalidInputError('stop must be an array of at most 16 non-empty strings', { reason: 'bad-option', field: 'stop' });
  }
  if (o.stopAtEos !== undefined && typeof o.stopAtEos !== 'boolean') throw new InvalidInputError('stopAtEos must be a boolean', { reason: 'bad-option', field: 'stopAtEos' });
  if (o.useCache !== undefined && typeof o.useCache !== 'boolean') throw new InvalidInputError('useCache must be a boolean', { reason: 'bad-option', field: 'useCache' });
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new InvalidInputError('signal must be an AbortSignal', { reason: 'bad-option', field: 'signal' });
  return { maxTokens, temperature, topK, topP, ...(seed !== undefined ? { seed } : {}), stop: [...stop], stopAtEos: o.stopAtEos ?? true, useCache: o.useCache ?? true, flushTokens, flushMs };
}
