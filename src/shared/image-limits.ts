import { InvalidInputError } from './errors/invalid-input.js';

/** Largest image side accepted, in pixels. */
export const MAX_SIDE = 16384;
/** Largest image area accepted (64 megapixels). */
export const MAX_PIXELS = 64 * 1024 * 1024;

/**
 * Checks an image's dimensions.
 *
 * @example
 * checkSize(0, 10); // throws InvalidInputError: image is empty (0×10)
 */
export function checkSize(width: unknown, height: unknown): void {
  if (typeof width !== 'number' || typeof height !== 'number' || !Number.isInteger(width) || !Number.isInteger(height)) {
    throw new InvalidInputError(`image width and height must be integers, got ${String(width)}×${String(height)}`, { reason: 'bad-size', field: 'image' });
  }
  if (width <= 0 || height <= 0) throw new InvalidInputError(`image is empty (${width}×${height})`, { reason: 'empty-image', field: 'image' });
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new InvalidInputError(`image is too large (${width}×${height}; at most ${MAX_SIDE} per side and ${MAX_PIXELS} pixels)`, { reason: 'too-large', field: 'image' });
  }
}

/** Raw pixel data as accepted by webinfer. Values are in pixel units (0–255), whatever the array type. */
export interface RawPixels {
  readonly data: Uint8Array | Uint8ClampedArray | Float32Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

/**
 * Validates raw pixels: array type, channel count, length, finite values.
 *
 * @example
 * checkPixels({ data: new Uint8Array(28 * 28), width: 28, height: 28, channels: 1 }); // ok
 * checkPixels({ data: new Float32Array([NaN]), width: 1, height: 1, channels: 1 }); // throws InvalidInputError (NaN)
 */
export function checkPixels(p: { data: unknown; width: unknown; height: unknown; channels: unknown }): asserts p is RawPixels {
  checkSize(p.width, p.height);
  const { data, channels } = p;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray || data instanceof Float32Array)) {
    const what = data === null ? 'null' : typeof data === 'object' ? (data as object).constructor?.name ?? 'object' : typeof data;
    throw new InvalidInputError(`pixel data must be a Uint8Array, Uint8ClampedArray or Float32Array, got ${what}`, { reason: 'bad-data-type', field: 'data' });
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new InvalidInputError(`channels must be 1, 3 or 4, got ${String(channels)}`, { reason: 'bad-channels', field: 'channels' });
  }
  const expected = (p.width as number) * (p.height as number) * channels;
  if (data.length !== expected) {
    throw new InvalidInputError(`pixel data has ${data.length} values, expected ${p.width as number}×${p.height as number}×${channels} = ${expected}`, { reason: 'bad-length', field: 'data' });
  }
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new InvalidInputError(`pixel data has a non-finite value (${data[i]}) at index ${i}`, { reason: 'not-finite', field: 'data' });
      }
    }
  }
}

/**
 * Validates `topK`: a positive integer (capped later at the number of labels).
 */
export function checkTopK(topK: unknown): number {
  if (topK === undefined) return 5;
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1) {
    throw new InvalidInputError(`topK must be a positive integer, got ${String(topK)}`, { reason: 'bad-topk', field: 'topK' });
  }
  return topK;
}
