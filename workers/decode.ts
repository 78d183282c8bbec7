/**
 * Turns what crossed the boundary (pixels, an ImageBitmap, an encoded Blob) into
 * raw pixels, in the worker.
 *
 * Bounded work for every valid size: an image larger than {@link REDUCE_ABOVE_PIXELS} is first reduced
 * to at most twice the model's input size per side — a bitmap by the browser (`createImageBitmap` with
 * `resizeWidth`/`resizeHeight`, off the worker's JavaScript thread), raw pixels by an area average in
 * slices that yield to the event loop every few milliseconds — so a 64-megapixel image never holds the
 * worker (heartbeats, aborts and other calls get through) and pre-processing then works on a small image.
 */
import { InvalidInputError } from '../src/shared/errors/invalid-input.js';
import { checkPixels, checkSize, type RawPixels } from '../src/shared/image-limits.js';
import type { WireImage } from '../src/shared/wire.js';
import { nextTask } from './queues/next-task.js';

/** Images with more pixels than this (2048 × 2048) are reduced before pre-processing. */
export const REDUCE_ABOVE_PIXELS = 2048 * 2048;

/** The model's input size, which a large image is reduced towards (twice it per side, at most). */
export interface DecodeTarget {
  readonly width: number;
  readonly height: number;
}

/** The size a `width`×`height` image is reduced to for `target`, or undefined when it is used as it is. */
export function reducedSize(width: number, height: number, target: DecodeTarget | undefined): { width: number; height: number } | undefined {
  if (!target || width * height <= REDUCE_ABOVE_PIXELS) return undefined;
  const w = Math.min(width, Math.max(1, 2 * target.width));
  const h = Math.min(height, Math.max(1, 2 * target.height));
  return w === width && h === height ? undefined : { width: w, height: h };
}

function bitmapPixels(bitmap: ImageBitmap): RawPixels {
  try {
    checkSize(bitmap.width, bitmap.height);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new InvalidInputError('could not get a 2D context to read the image', { reason: 'no-2d-context', field: 'image' });
    ctx.drawImage(bitmap, 0, 0);
    const img = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { data: img.data, width: img.width, height: img.height, channels: 4 };
  } finally {
    bitmap.close();
  }
}

/** A large bitmap reduced by the browser (the original is closed); a small one as it is. */
async function reduceBitmap(bitmap: ImageBitmap, target: DecodeTarget | undefined): Promise<ImageBitmap> {
  checkSize(bitmap.width, bitmap.height);
  const size = reducedSize(bitmap.width, bitmap.height, target);
  if (!size) return bitmap;
  try {
    return await createImageBitmap(bitmap, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: 'high', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } finally {
    bitmap.close();
  }
}

/**
 * Area-average reduction of raw pixels to `size` (each output pixel is the mean of the source pixels its area
 * covers), in slices of rows that yield to the event loop about every 8 ms. Values stay in pixel units.
 *
 * @example
 * await reducePixels({ data: new Uint8Array(4 * 4), width: 4, height: 4, channels: 1 }, { width: 2, height: 2 }); // 2×2, Float32Array
 */
export async function reducePixels(p: RawPixels, size: { width: number; height: number }, pause: () => Promise<void> = nextTask): Promise<RawPixels> {
  const { width: sw, height: sh, channels: c, data } = p;
  const { width: tw, height: th } = size;
  const out = new Float32Array(tw * th * c);
  const acc = new Float64Array(tw * c);
  const counts = new Float64Array(tw);
  const x0s = new Int32Array(tw + 1);
  for (let x = 0; x <= tw; x++) x0s[x] = Math.min(sw, Math.floor((x * sw) / tw));
  let last = performance.now();
  for (let y = 0; y < th; y++) {
    const ya = Math.floor((y * sh) / th);
    const yb = Math.max(ya + 1, Math.floor(((y + 1) * sh) / th));
    acc.fill(0);
    counts.fill(0);
    for (let sy = ya; sy < yb; sy++) {
      const row = sy * sw * c;
      for (let x = 0; x < tw; x++) {
        const xa = x0s[x] as number;
        const xb = Math.max(xa + 1, x0s[x + 1] as number);
        for (let sx = xa; sx < xb; sx++) {
          const i = row + sx * c;
          for (let k = 0; k < c; k++) acc[x * c + k] = (acc[x * c + k] as number) + (data[i + k] as number);
        }
        counts[x] = (counts[x] as number) + (xb - xa);
      }
      if (performance.now() - last > 8) {
        await pause();
        last = performance.now();
      }
    }
    const o = y * tw * c;
    for (let x = 0; x < tw; x++) for (let k = 0; k < c; k++) out[o + x * c + k] = (acc[x * c + k] as number) / (counts[x] as number);
  }
  return { data: out, width: tw, height: th, channels: c };
}

/**
 * Decodes one image. With `target` (the model's input size), an image above {@link REDUCE_ABOVE_PIXELS} is
 * reduced towards it first, without holding the worker.
 */
export async function decodeImage(image: WireImage, target?: DecodeTarget): Promise<RawPixels> {
  if (typeof image !== 'object' || image === null) throw new InvalidInputError('missing image', { reason: 'missing', field: 'image' });
  switch (image.kind) {
    case 'pixels': {
      checkPixels(image);
      const size = reducedSize(image.width, image.height, target);
      return size ? reducePixels(image, size) : image;
    }
    case 'bitmap': {
      if (image.bitmap.width === 0 && image.bitmap.height === 0) throw new InvalidInputError('the ImageBitmap is closed or empty', { reason: 'empty-image', field: 'image' });
      return bitmapPixels(await reduceBitmap(image.bitmap, target));
    }
    case 'blob': {
      if (image.blob.size === 0) throw new InvalidInputError('the image Blob is empty', { reason: 'empty-image', field: 'image' });
      let bitmap: ImageBitmap;
      try {
        bitmap = await createImageBitmap(image.blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      } catch (e) {
        throw new InvalidInputError(`could not decode the Blob as an image (type "${image.blob.type || 'unknown'}", ${image.blob.size} bytes)`, { reason: 'undecodable', field: 'image' }, { cause: e });
      }
      return bitmapPixels(await reduceBitmap(bitmap, target));
    }
    default:
      throw new InvalidInputError('unknown image kind', { reason: 'unknown-kind', field: 'image' });
  }
}
