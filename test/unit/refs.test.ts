import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ModelNotFoundError } from '../../src/shared/errors/model-not-found.js';
import { compareSemver, formatRef, parseRef, paths, registryUrl, resolveVersion } from '../../src/shared/registry/refs.js';
import type { ModelIndex } from '../../src/shared/registry/schema.js';

describe('parseRef', () => {
  it('parses the three forms', () => {
    expect(parseRef('fashion-mnist-cnn')).toEqual({ id: 'fashion-mnist-cnn', kind: 'default' });
    expect(parseRef('fashion-mnist-cnn@stable')).toEqual({ id: 'fashion-mnist-cnn', kind: 'alias', alias: 'stable' });
    expect(parseRef('fashion-mnist-cnn@1.2.0')).toEqual({ id: 'fashion-mnist-cnn', kind: 'version', version: '1.2.0' });
    expect(parseRef('m.v2_x@1.0.0-rc.1')).toEqual({ id: 'm.v2_x', kind: 'version', version: '1.0.0-rc.1' });
  });

  it('round-trips through formatRef', () => {
    for (const s of ['a', 'a@stable', 'a@2.0.0']) expect(formatRef(parseRef(s))).toBe(s);
  });

  it.each(['../x', 'A', '', 'x..y', '-x', 'x-', 'a/b', 'a b', 'x'.repeat(65), '@stable'])('rejects the id of %j', (ref) => {
    let err: unknown;
    try {
      parseRef(ref);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ reason: 'invalid-id', field: 'model', code: 'INVALID_INPUT' });
  });

  it.each(['x@', 'x@../1', 'x@1.0', 'x@v1.0.0', 'x@Stable', 'x@1.0.0@2', 'x@01.0.0'])('rejects the selector of %j', (ref) => {
    expect(() => parseRef(ref)).toThrow(InvalidInputError);
    try {
      parseRef(ref);
    } catch (e) {
      expect((e as InvalidInputError).reason).toBe('invalid-selector');
    }
  });

  it('rejects non-strings', () => {
    expect(() => parseRef(42)).toThrow(/must be a string, got number/);
    expect(() => parseRef(undefined)).toThrow(InvalidInputError);
  });
});

function index(over: Partial<ModelIndex> = {}): ModelIndex {
  return {
    schema: 'webinfer.model-index/v1',
    id: 'm',
    task: 'image-classification',
    versions: [
      { version: '1.0.0', publishedAt: '2025-01-01T00:00:00Z', yanked: false },
      { version: '1.1.0', publishedAt: '2025-02-01T00:00:00Z', yanked: false },
      { version: '2.0.0', publishedAt: '2025-03-01T00:00:00Z', yanked: true },
      { version: '1.10.0', publishedAt: '2025-03-02T00:00:00Z', yanked: false },
    ],
    aliases: { stable: '1.0.0', latest: '1.10.0', canary: '2.0.0' },
    history: {},
    ...over,
  };
}

function notFound(fn: () => unknown): ModelNotFoundError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelNotFoundError);
    return e as ModelNotFoundError;
  }
  throw new Error('expected ModelNotFoundError');
}

describe('resolveVersion', () => {
  it('resolves pinned versions, yanked ones included', () => {
    expect(resolveVersion(index(), parseRef('m@1.1.0'))).toBe('1.1.0');
    expect(resolveVersion(index(), parseRef('m@2.0.0'))).toBe('2.0.0');
  });

  it('resolves aliases', () => {
    expect(resolveVersion(index(), parseRef('m@stable'))).toBe('1.0.0');
    expect(resolveVersion(index(), parseRef('m@latest'))).toBe('1.10.0');
  });

  it('refuses an alias pointing at a yanked version', () => {
    const e = notFound(() => resolveVersion(index(), parseRef('m@canary')));
    expect(e.message).toContain('yanked');
    expect(e.fields).toEqual({ model: 'm', version: '2.0.0' });
  });

  it('refuses an alias pointing at an unknown version', () => {
    const e = notFound(() => resolveVersion(index({ aliases: { beta: '9.9.9' } }), parseRef('m@beta')));
    expect(e.message).toContain('unknown version 9.9.9');
  });

  it('reports missing versions and aliases', () => {
    expect(notFound(() => resolveVersion(index(), parseRef('m@3.0.0'))).fields).toEqual({ model: 'm', version: '3.0.0' });
    expect(notFound(() => resolveVersion(index(), parseRef('m@beta'))).message).toBe('model "m" has no alias "beta"');
  });

  it('does not take Object.prototype keys for aliases', () => {
    expect(notFound(() => resolveVersion(index(), parseRef('m@constructor'))).message).toBe('model "m" has no alias "constructor"');
  });

  it('resolves a bare id to stable, else latest, else the highest non-yanked version', () => {
    expect(resolveVersion(index(), parseRef('m'))).toBe('1.0.0');
    expect(resolveVersion(index({ aliases: { latest: '1.1.0' } }), parseRef('m'))).toBe('1.1.0');
    expect(resolveVersion(index({ aliases: {} }), parseRef('m'))).toBe('1.10.0');
  });

  it('fails for a bare id with no live version', () => {
    const idx = index({ versions: [{ version: '1.0.0', publishedAt: '2025-01-01T00:00:00Z', yanked: true }], aliases: {} });
    expect(notFound(() => resolveVersion(idx, parseRef('m'))).message).toBe('model "m" has no published version');
    expect(notFound(() => resolveVersion(index({ versions: [], aliases: {} }), parseRef('m'))).fields).toEqual({ model: 'm', version: undefined });
  });
});

describe('compareSemver', () => {
  it('orders by SemVer precedence', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.1', '0.9.9', '1.2.0-alpha', '1.2.0-alpha.1', '1.2.0-alpha.beta', '1.2.0-beta.11', '1.2.0-beta.2', '2.0.0', '1.2.1'].sort(
      compareSemver,
    );
    expect(sorted).toEqual(['0.9.9', '1.2.0-alpha', '1.2.0-alpha.1', '1.2.0-alpha.beta', '1.2.0-beta.2', '1.2.0-beta.11', '1.2.0-rc.1', '1.2.0', '1.2.1', '1.10.0', '2.0.0']);
  });

  it('returns -1, 0, 1', () => {
    expect(compareSemver('1.0.0', '1.0.0')).toBe(0);
    expect(compareSemver('1.0.0', '1.0.1')).toBe(-1);
    expect(compareSemver('10.0.0', '9.0.0')).toBe(1);
    expect(compareSemver('1.0.0-1', '1.0.0-a')).toBe(-1);
  });
});

describe('paths and registryUrl', () => {
  it('builds the v1 layout', () => {
    expect(paths.catalog()).toBe('v1/models.json');
    expect(paths.index('m')).toBe('v1/models/m/index.json');
    expect(paths.manifest('m', '1.0.0')).toBe('v1/models/m/versions/1.0.0.json');
    expect(paths.blob('0'.repeat(64))).toBe(`v1/blobs/sha256/${'0'.repeat(64)}`);
  });

  it.each(['', 'abc', 'A'.repeat(64), `${'0'.repeat(63)}g`, `../${'0'.repeat(61)}`, '0'.repeat(65)])('paths.blob rejects %j', (h) => {
    expect(() => paths.blob(h)).toThrow(InvalidInputError);
  });

  it('joins base URLs with or without a trailing slash', () => {
    expect(registryUrl('https://cdn.example.com/models', 'v1/models.json')).toBe('https://cdn.example.com/models/v1/models.json');
    expect(registryUrl('https://cdn.example.com/models/', 'v1/models.json')).toBe('https://cdn.example.com/models/v1/models.json');
  });
});
