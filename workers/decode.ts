/**
 * Turns what crossed the boundary (pixels, an ImageBitmap, an encoded Blob) into
 * raw pixels, in the worker.
 */
import { InvalidInputError } from '../src/shared/errors/invalid-input.js';
import { checkPixels, checkSize, type RawPixels } from '../src/shared/image-limits.js';
import type { WireImage } from '../src/shared/wire.js';

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

export async function decodeImage(image: WireImage): Promise<RawPixels> {
  if (typeof image !== 'object' || image === null) throw new InvalidInputError('missing image', { reason: 'missing', field: 'image' });
  switch (image.kind) {
    case 'pixels': {
      checkPixels(image);
      return image;
    }
    case 'bitmap': {
      if (image.bitmap.width === 0 && image.bitmap.height === 0) throw new InvalidInputError('the ImageBitmap is closed or empty', { reason: 'empty-image', field: 'image' });
      return bitmapPixels(image.bitmap);
    }
    case 'blob': {
      if (image.blob.size === 0) throw new InvalidInputError('the image Blob is empty', { reason: 'empty-image', field: 'image' });
      let bitmap: ImageBitmap;
      try {
        bitmap = await createImageBitmap(image.blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      } catch (e) {
        throw new InvalidInputError(`could not decode the Blob as an image (type "${image.blob.type || 'unknown'}", ${image.blob.size} bytes)`, { reason: 'undecodable', field: 'image' }, { cause: e });
      }
      return bitmapPixels(bitmap);
    }
    default:
      throw new InvalidInputError('unknown image kind', { reason: 'unknown-kind', field: 'image' });
  }
}
