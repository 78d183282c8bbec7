/**
 * Which weights variant a load downloads. Decided in the worker, after the backend is
 * settled (so a WebGPU → WASM fallback is known when the variant is chosen).
 *
 * `auto`: `float16` when the manifest has it, else `float32`; `int8` / `int4` (text models) only
 * when asked, and only on WASM (webinfer's engine runs them). Why not the backend? tfjs 4.22
 * dequantizes every variant to float32 when the model loads, on every backend (WebGPU, WASM,
 * CPU), so the backend computes in float32 whatever was downloaded: the variant only trades
 * download size against accuracy. float16 halves the bytes and changes probabilities by about
 * 1e-3; uint8 quarters them but may cost accuracy, so it is never picked automatically — ask
 * for it. The backend is still passed in, so a backend with native half-precision kernels can
 * change the rule in one place.
 *
 * @example
 * chooseDtype(manifest, 'auto', 'wasm'); // { dtype: 'float16', reason: 'auto: float16 halves the download; …' }
 */
import { InvalidInputError } from '../src/shared/errors/invalid-input.js';
import type { Manifest } from '../src/shared/registry/schema.js';
import { DTYPES } from '../src/shared/lists.js';
import type { BackendName, Dtype, DtypePreference } from '../src/shared/types.js';

export function chooseDtype(manifest: Manifest, wanted: DtypePreference, backend: BackendName): { dtype: Dtype; reason: string } {
  const has = (d: Dtype): boolean => manifest.variants[d] !== undefined;
  const available = DTYPES.filter(has);
  if (wanted !== 'auto') {
    if (!has(wanted)) {
      throw new InvalidInputError(`${manifest.id}@${manifest.version} has no ${wanted} variant (it has ${available.join(', ')})`, { reason: 'dtype-unavailable', field: 'dtype' });
    }
    if ((wanted === 'int8' || wanted === 'int4') && backend !== 'wasm') {
      throw new InvalidInputError(`${wanted} weights run on webinfer's WASM engine; this worker runs ${backend} (load float16 or float32, or create the client with backend: 'wasm')`, {
        reason: 'dtype-unsupported',
        field: 'dtype',
      });
    }
    return { dtype: wanted, reason: `asked for ${wanted}${wanted === 'int8' || wanted === 'int4' ? ': kept quantized in memory by the WASM engine' : ''}` };
  }
  if (has('float16')) {
    return { dtype: 'float16', reason: `auto: float16 halves the download; ${backend} computes in float32 after tfjs dequantizes it on load (uint8 only when asked: it may cost accuracy)` };
  }
  return { dtype: 'float32', reason: `auto: the model has only ${available.join(', ')}` };
}

/**
 * What a tfjs model's weights are stored as, from its model JSON's weights manifest: `float16` or `uint8` when every
 * float weight is quantized to it (a model published already quantized, under its `float32` variant), `float32` when
 * none is, undefined when mixed or not a tfjs model. `model.info.dtype` reports this rather than the variant's name.
 *
 * @example
 * storedDtype({ weightsManifest: [{ weights: [{ name: 'w', dtype: 'float32', quantization: { dtype: 'uint8' } }] }] }); // 'uint8'
 */
export function storedDtype(modelJson: unknown): Dtype | undefined {
  const groups = (modelJson as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(groups)) return undefined;
  const kinds = new Set<string>();
  for (const g of groups as Array<{ weights?: Array<{ dtype?: string; quantization?: { dtype?: string } }> }>) {
    for (const w of g.weights ?? []) {
      if (w.dtype !== undefined && w.dtype !== 'float32') continue; // int32 etc.: not weights a dtype names
      kinds.add(w.quantization?.dtype ?? 'float32');
    }
  }
  if (kinds.size !== 1) return undefined;
  const [k] = [...kinds];
  return k === 'float16' || k === 'uint8' || k === 'float32' ? k : undefined;
}
