/** The worker picks the weights variant after the backend is settled (`workers/dtype.ts`). */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { chooseDtype } from '../../workers/dtype.js';

describe('chooseDtype (the worker picks the variant after the backend)', () => {
  const variant = { entry: 'model.json', files: [{ path: 'model.json', size: 1, sha256: '0'.repeat(64) }] };
  const manifest = (keys: string[]) =>
    ({ id: 'm', version: '1.0.0', variants: Object.fromEntries(keys.map((k) => [k, variant])) }) as unknown as Parameters<typeof chooseDtype>[0];
  it('auto: float16 when present, else float32; uint8 only when asked', () => {
    for (const backend of ['webgpu', 'wasm', 'cpu'] as const) {
      expect(chooseDtype(manifest(['float32', 'float16', 'uint8']), 'auto', backend).dtype).toBe('float16');
      expect(chooseDtype(manifest(['float32', 'uint8']), 'auto', backend).dtype).toBe('float32');
    }
    expect(chooseDtype(manifest(['float32', 'uint8']), 'uint8', 'wasm')).toEqual({ dtype: 'uint8', reason: 'asked for uint8' });
  });
  it('a variant the model lacks is an InvalidInputError naming what it has', () => {
    expect(() => chooseDtype(manifest(['float32']), 'float16', 'wasm')).toThrow(InvalidInputError);
    expect(() => chooseDtype(manifest(['float32']), 'float16', 'wasm')).toThrow('m@1.0.0 has no float16 variant (it has float32)');
  });
});

describe('storedDtype (what model.info.dtype reports)', () => {
  const w = (quantization?: string, dtype = 'float32') => ({ name: 'w', shape: [1], dtype, ...(quantization ? { quantization: { dtype: quantization } } : {}) });
  it('names the stored dtype of a model published already quantized, not its variant name', async () => {
    const { storedDtype } = await import('../../workers/dtype.js');
    expect(storedDtype({ weightsManifest: [{ paths: [], weights: [w('uint8'), w('uint8')] }] })).toBe('uint8');
    expect(storedDtype({ weightsManifest: [{ paths: [], weights: [w('float16')] }] })).toBe('float16');
    expect(storedDtype({ weightsManifest: [{ paths: [], weights: [w(), w(undefined, 'int32')] }] })).toBe('float32');
    expect(storedDtype({ weightsManifest: [{ paths: [], weights: [w('uint8'), w()] }] })).toBeUndefined(); // mixed
    expect(storedDtype({})).toBeUndefined();
  });
});
