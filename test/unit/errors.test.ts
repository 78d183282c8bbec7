import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BackendUnavailableError,
  deserializeError,
  IntegrityError,
  InvalidInputError,
  isWebInferError,
  ManifestError,
  ModelDisposedError,
  ModelNotFoundError,
  QuotaExceededError,
  RegistryUnavailableError,
  serializeError,
  TaskMismatchError,
  TimeoutError,
  WebInferError,
  WorkerCrashedError,
} from '../../src/shared/errors/index.js';
import { isSerializedError } from '../../src/shared/errors/serialize.js';

/** One instance of every class, with its expected code and fields. */
const CASES: Array<[string, () => WebInferError, string, Record<string, unknown>]> = [
  ['ModelNotFoundError', () => new ModelNotFoundError('no model', { model: 'cats', version: '1.0.0' }), 'MODEL_NOT_FOUND', { model: 'cats', version: '1.0.0' }],
  ['IntegrityError', () => new IntegrityError('bad hash', { file: 'a.bin', expected: 'sha256:aa', actual: 'sha256:bb' }), 'INTEGRITY', { file: 'a.bin', expected: 'sha256:aa', actual: 'sha256:bb' }],
  ['BackendUnavailableError', () => new BackendUnavailableError('no gpu', { backend: 'webgpu', reason: 'navigator.gpu is undefined' }), 'BACKEND_UNAVAILABLE', { backend: 'webgpu', reason: 'navigator.gpu is undefined' }],
  ['InvalidInputError', () => new InvalidInputError('bad', { reason: 'nan', field: 'image' }), 'INVALID_INPUT', { reason: 'nan', field: 'image' }],
  ['TaskMismatchError', () => new TaskMismatchError('wrong task', { model: 'gpt', expected: 'image-classification', actual: 'text-generation' }), 'TASK_MISMATCH', { model: 'gpt', expected: 'image-classification', actual: 'text-generation' }],
  ['WorkerCrashedError', () => new WorkerCrashedError('died', { reason: 'oom' }), 'WORKER_CRASHED', { reason: 'oom' }],
  ['AbortError', () => new AbortError('aborted', { operation: 'load' }), 'ABORTED', { operation: 'load' }],
  ['TimeoutError', () => new TimeoutError('slow', { operation: 'classify', timeoutMs: 1500 }), 'TIMEOUT', { operation: 'classify', timeoutMs: 1500 }],
  ['RegistryUnavailableError', () => new RegistryUnavailableError('down', { url: 'http://x/v1/models.json', status: 503 }), 'REGISTRY_UNAVAILABLE', { url: 'http://x/v1/models.json', status: 503 }],
  ['ManifestError', () => new ManifestError('invalid', { url: 'http://x/m.json', issues: ['task: bad', 'labels: required'] }), 'INVALID_MANIFEST', { url: 'http://x/m.json', issues: ['task: bad', 'labels: required'] }],
  ['QuotaExceededError', () => new QuotaExceededError('full', { bytes: 8_400_000 }), 'QUOTA_EXCEEDED', { bytes: 8_400_000 }],
  ['ModelDisposedError', () => new ModelDisposedError('gone', { model: 'cats@1.0.0' }), 'MODEL_DISPOSED', { model: 'cats@1.0.0' }],
];

const CLASSES: Record<string, abstract new (...a: never[]) => WebInferError> = {
  ModelNotFoundError,
  IntegrityError,
  BackendUnavailableError,
  InvalidInputError,
  TaskMismatchError,
  WorkerCrashedError,
  AbortError,
  TimeoutError,
  RegistryUnavailableError,
  ManifestError,
  QuotaExceededError,
  ModelDisposedError,
};

/** What crossing a worker boundary does: serialize, structured clone, rebuild. */
const cross = (e: unknown): Error => deserializeError(structuredClone(serializeError(e)));

describe('error classes', () => {
  it.each(CASES)('%s has its name, code and fields', (name, make, code, fields) => {
    const e = make();
    expect(e).toBeInstanceOf(CLASSES[name]!);
    expect(e).toBeInstanceOf(WebInferError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe(name);
    expect(e.code).toBe(code);
    expect(e.fields).toEqual(fields);
    expect(String(e)).toBe(`${name}: ${e.message}`);
  });

  it('optional fields are undefined when not given, and survive the round trip so', () => {
    const e = new ModelNotFoundError('x', { model: 'm' });
    expect(e.version).toBeUndefined();
    expect(e.fields).toEqual({ model: 'm', version: undefined });
    const back = cross(new InvalidInputError('x', { reason: 'r' })) as InvalidInputError;
    expect(back).toBeInstanceOf(InvalidInputError);
    expect(back.field).toBeUndefined();
    expect(back.reason).toBe('r');
  });
});

describe('serializeError → structuredClone → deserializeError', () => {
  it.each(CASES)('%s keeps class, name, code, message and fields', (name, make, code, fields) => {
    const original = make();
    const back = cross(original);
    expect(back).toBeInstanceOf(CLASSES[name]!);
    expect(back).toBeInstanceOf(WebInferError);
    expect(back.name).toBe(name);
    expect((back as WebInferError).code).toBe(code);
    expect(back.message).toBe(original.message);
    expect((back as WebInferError).fields).toEqual(fields);
    expect(back.stack).toBe(original.stack);
  });

  it.each(CASES)('%s keeps a nested cause chain', (_name, make) => {
    const root = new TypeError('socket hang up');
    const middle = new RegistryUnavailableError('registry down', { url: 'http://r/v1/models.json' }, { cause: root });
    const Cls = make().constructor as new (m: string, f: unknown, o?: { cause?: unknown }) => WebInferError;
    const outer = new Cls('outer', make().fields, { cause: middle });

    const back = cross(outer) as WebInferError;
    expect(back).toBeInstanceOf(Cls);
    const c1 = back.cause as RegistryUnavailableError;
    expect(c1).toBeInstanceOf(RegistryUnavailableError);
    expect(c1.message).toBe('registry down');
    expect(c1.url).toBe('http://r/v1/models.json');
    expect(c1.fields).toEqual({ url: 'http://r/v1/models.json', status: undefined });
    const c2 = c1.cause as Error;
    expect(c2).toBeInstanceOf(Error);
    expect(c2).not.toBeInstanceOf(WebInferError);
    expect(c2.name).toBe('TypeError');
    expect(c2.message).toBe('socket hang up');
  });

  it('keeps the base class WebInferError', () => {
    const back = cross(new WebInferError('generic', { cause: new AbortError('a', { operation: 'load' }) }));
    expect(back).toBeInstanceOf(WebInferError);
    expect(back.name).toBe('WebInferError');
    expect((back as WebInferError).code).toBe('WEBINFER_ERROR');
    expect(back.cause).toBeInstanceOf(AbortError);
  });

  it('limits the depth of cause chains', () => {
    let e: Error = new Error('0');
    for (let i = 1; i <= 10; i++) e = new Error(String(i), { cause: e });
    let s = serializeError(e);
    let depth = 0;
    while (s.cause) {
      s = s.cause;
      depth++;
    }
    expect(depth).toBe(4);
  });

  it('turns a DOMException AbortError into our AbortError', () => {
    const dom = new DOMException('The operation was aborted.', 'AbortError');
    const back = cross(dom);
    expect(back).toBeInstanceOf(AbortError);
    expect(back.message).toBe('The operation was aborted.');
    expect((back as AbortError).code).toBe('ABORTED');
    expect((back as AbortError).operation).toBe('unknown');
  });

  it('turns an AbortSignal reason into our AbortError', () => {
    const ac = new AbortController();
    ac.abort();
    const back = cross(ac.signal.reason);
    expect(back).toBeInstanceOf(AbortError);
  });

  it('keeps foreign errors as plain Errors with their name', () => {
    const back = cross(new RangeError('too big'));
    expect(back).not.toBeInstanceOf(WebInferError);
    expect(back.name).toBe('RangeError');
    expect(back.message).toBe('too big');
  });

  it('does not treat Object.prototype names as our classes', () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      const back = deserializeError({ __webinfer: 1, name, message: 'm', fields: {} });
      expect(back).toBeInstanceOf(Error);
      expect(back).not.toBeInstanceOf(WebInferError);
      expect(back.name).toBe(name);
      expect(isWebInferError({ name, code: 'X', message: 'm' })).toBe(false);
    }
  });

  it('serializes non-errors', () => {
    expect(serializeError('boom')).toEqual({ __webinfer: 1, foreign: true, name: 'Error', message: 'boom', fields: {} });
    expect(serializeError(undefined).message).toBe('undefined');
    expect(cross(42).message).toBe('42');
    expect(isSerializedError(serializeError(new Error('x')))).toBe(true);
    expect(isSerializedError({ name: 'Error' })).toBe(false);
  });
});

describe('isWebInferError', () => {
  it('is true for our errors, false for others', () => {
    for (const [, make] of CASES) expect(isWebInferError(make())).toBe(true);
    expect(isWebInferError(new WebInferError('x'))).toBe(true);
    expect(isWebInferError(new Error('x'))).toBe(false);
    expect(isWebInferError(new DOMException('x', 'AbortError'))).toBe(false);
    expect(isWebInferError(null)).toBe(false);
    expect(isWebInferError('IntegrityError')).toBe(false);
  });

  it('recognises errors from another realm by shape', () => {
    // What an error thrown in another realm looks like here: not our class, same name and code.
    class ForeignError extends Error {
      code = 'INTEGRITY';
      get fields(): Record<string, unknown> {
        return { file: 'a', expected: 'x', actual: 'y' };
      }
    }
    const foreign = new ForeignError('bad hash');
    foreign.name = 'IntegrityError';
    expect(foreign).not.toBeInstanceOf(WebInferError);
    expect(isWebInferError(foreign)).toBe(true);
    expect(isWebInferError({ name: 'ModelNotFoundError', code: 'MODEL_NOT_FOUND', message: 'x', fields: { model: 'm' } })).toBe(true);
    // A look-alike without the promised shape (message, fields) is not one of ours.
    expect(isWebInferError({ name: 'ModelNotFoundError', code: 'MODEL_NOT_FOUND', message: 'x' })).toBe(false);
    expect(isWebInferError({ name: 'ModelNotFoundError', code: 'MODEL_NOT_FOUND', fields: {} })).toBe(false);
    expect(isWebInferError({ name: 'ModelNotFoundError' })).toBe(false);
    expect(isWebInferError({ name: 'NotOurs', code: 'X' })).toBe(false);
  });

  it('recognises an error made in a vm context', async () => {
    const vm = await import('node:vm');
    const ctx = vm.createContext({});
    const e = vm.runInContext(`(() => { const e = new Error('nope'); e.name = 'TimeoutError'; e.code = 'TIMEOUT'; e.fields = { operation: 'x', timeoutMs: 1 }; return e; })()`, ctx) as Error;
    expect(e instanceof Error).toBe(false);
    expect(isWebInferError(e)).toBe(true);
  });
});

describe('foreign DOMExceptions', () => {
  it('a DOMException TimeoutError stays a foreign error, not our TimeoutError with empty fields', () => {
    const back = deserializeError(structuredClone(serializeError(new DOMException('t', 'TimeoutError'))));
    expect(back).not.toBeInstanceOf(TimeoutError);
    expect(back.name).toBe('TimeoutError');
    expect(back.message).toBe('t');
  });
});
