/**
 * The consumer app: imports webinfer by its package name, as any user's Vite app
 * would, and exposes `window.consumer.classify()` for the e2e test
 * (test/e2e/consumer.spec.ts). The registry, model and backend come from the query
 * string: `?registry=<url>&model=tiny-cnn@stable&backend=wasm`.
 */
import { createClient, isWebInferError, type BackendInfo, type BackendPreference, type Prediction } from 'webinfer';

export interface ConsumerPixels {
  /** Pixel values 0–255, row-major, `channels` per pixel. */
  readonly data: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

export type ConsumerResult =
  | { readonly ok: true; readonly top: Prediction[]; readonly backend: BackendInfo | undefined; readonly model: { id: string; version: string } }
  | { readonly ok: false; readonly error: { name: string; message: string; code?: string; isWebInferError: boolean } };

async function classify(pixels: ConsumerPixels, topK = 5): Promise<ConsumerResult> {
  const query = new URLSearchParams(location.search);
  const registry = query.get('registry');
  if (!registry) return { ok: false, error: { name: 'Error', message: 'no ?registry= in the page URL', isWebInferError: false } };
  const ref = query.get('model') ?? 'tiny-cnn@stable';
  const backend = (query.get('backend') ?? 'auto') as BackendPreference;
  const client = createClient({ registry, backend });
  try {
    const model = await client.load(ref, { task: 'image-classification' });
    const image = { data: Uint8ClampedArray.from(pixels.data), width: pixels.width, height: pixels.height, channels: pixels.channels };
    const top = await model.classify(image, { topK });
    return { ok: true, top, backend: client.backend, model: { id: model.info.id, version: model.info.version } };
  } catch (e) {
    const err = e as { name?: string; message?: string; code?: string };
    return {
      ok: false,
      error: { name: String(err?.name), message: String(err?.message ?? e), ...(isWebInferError(e) ? { code: e.code } : {}), isWebInferError: isWebInferError(e) },
    };
  } finally {
    await client.dispose();
  }
}

declare global {
  interface Window {
    consumer: { classify: typeof classify };
    consumerReady: boolean;
  }
}

window.consumer = { classify };
window.consumerReady = true;
const out = document.getElementById('out');
if (out) out.textContent = 'ready: call window.consumer.classify({ data, width, height, channels }, topK)';
