/**
 * Main-thread side of image input: accepts every image type the DOM has, checks it,
 * and turns it into something that crosses to the worker by transfer (an ImageBitmap
 * or a pixel buffer), never by structured-clone copy of the pixels.
 */
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import type { WireImage } from '../shared/wire.js';
import { checkPixels, checkSize, type RawPixels } from '../shared/image-limits.js';

/** Every image input `classify()` accepts. `File` is a `Blob`. */
export type ImageInput = ImageBitmap | ImageData | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | Blob | RawPixels;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

const has = <K extends string>(name: K): boolean => typeof (globalThis as Record<string, unknown>)[name] === 'function';

function ownBuffer(data: Uint8Array | Uint8ClampedArray | Float32Array, transfer: boolean): Uint8Array | Uint8ClampedArray | Float32Array {
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer);
  return transfer && whole ? data : data.slice();
}

/**
 * Converts an input to its wire form and the list of objects to transfer.
 * With `transfer: true`, the caller's own buffer or ImageBitmap is handed over
 * (zero copies, and the caller's object becomes detached); otherwise one copy is
 * made here and that copy is transferred, so the caller's object stays usable.
 */
export async function toWire(input: unknown, transfer: boolean): Promise<{ image: WireImage; transfer: Transferable[] }> {
  if (input === null || input === undefined) throw new InvalidInputError(`image is ${String(input)}`, { reason: 'missing', field: 'image' });
  if (typeof input !== 'object') throw new InvalidInputError(`unsupported image input: ${describe(input)}`, { reason: 'unsupported-type', field: 'image' });
  if (has('ImageBitmap') && input instanceof ImageBitmap) {
    if (input.width === 0 || input.height === 0) throw new InvalidInputError('the ImageBitmap is closed or empty', { reason: 'empty-image', field: 'image' });
    checkSize(input.width, input.height);
    const bitmap = transfer ? input : await createImageBitmap(input);
    return { image: { kind: 'bitmap', bitmap }, transfer: [bitmap] };
  }
  if (has('ImageData') && input instanceof ImageData) {
    checkSize(input.width, input.height);
    const data = ownBuffer(input.data, transfer);
    return { image: { kind: 'pixels', data, width: input.width, height: input.height, channels: 4 }, transfer: [data.buffer] };
  }
  if (has('Blob') && input instanceof Blob) {
    if (input.size === 0) throw new InvalidInputError('the image Blob is empty', { reason: 'empty-image', field: 'image' });
    // A Blob crosses by reference: its bytes are not copied.
    return { image: { kind: 'blob', blob: input }, transfer: [] };
  }
  if (has('HTMLImageElement') && input instanceof HTMLImageElement) {
    try {
      if (!input.complete || input.naturalWidth === 0) await input.decode();
    } catch (e) {
      throw new InvalidInputError(`the <img> could not be decoded (${input.currentSrc || input.src || 'no src'})`, { reason: 'undecodable', field: 'image' }, { cause: e });
    }
    checkSize(input.naturalWidth, input.naturalHeight);
    const bitmap = await createImageBitmap(input);
    return { image: { kind: 'bitmap', bitmap }, transfer: [bitmap] };
  }
  if ((has('HTMLCanvasElement') && input instanceof HTMLCanvasElement) || (has('OffscreenCanvas') && input instanceof OffscreenCanvas)) {
    checkSize(input.width, input.height);
    const bitmap = await createImageBitmap(input);
    return { image: { kind: 'bitmap', bitmap }, transfer: [bitmap] };
  }
  if ('data' in input && 'width' in input && 'height' in input) {
    const raw = input as { data: unknown; width: unknown; height: unknown; channels?: unknown };
    const p = { data: raw.data, width: raw.width, height: raw.height, channels: raw.channels };
    checkPixels(p);
    const data = ownBuffer(p.data, transfer);
    return { image: { kind: 'pixels', data, width: p.width, height: p.height, channels: p.channels }, transfer: [data.buffer] };
  }
  throw new InvalidInputError(`unsupported image input: ${describe(input)}`, { reason: 'unsupported-type', field: 'image' });
}
