import { describe, expect, it } from 'vitest';
import { Catalog, check, FileEntry, ImagePreprocess, Manifest, manifestProblems, ModelIndex, type Manifest as ManifestT } from '../../src/shared/registry/schema.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

function manifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'webinfer.manifest/v1',
    id: 'tiny-cnn',
    version: '1.0.0',
    task: 'image-classification',
    format: 'tfjs-layers',
    createdAt: '2025-01-01T00:00:00.000Z',
    labels: ['a', 'b'],
    preprocess: { width: 28, height: 28, channels: 1 },
    variants: {
      float32: {
        entry: 'model.json',
        files: [
          { path: 'model.json', size: 10, sha256: H1 },
          { path: 'group1-shard1of1.bin', size: 20, sha256: H2 },
        ],
      },
    },
    ...over,
  };
}

function valid(over: Record<string, unknown> = {}): ManifestT {
  const r = check(Manifest, manifest(over));
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.value;
}

describe('Manifest', () => {
  it('accepts a valid manifest and fills the defaults', () => {
    const m = valid();
    expect(m.output).toBe('probabilities');
    expect(m.preprocess).toEqual({
      width: 28,
      height: 28,
      channels: 1,
      resize: 'bilinear',
      grayWeights: [0.299, 0.587, 0.114],
      scale: 1 / 255,
      mean: [0],
      std: [1],
      layout: 'nhwc',
    });
    expect(manifestProblems(m)).toEqual([]);
  });

  it('keeps unknown fields (forward compatibility)', () => {
    const m = valid({ futureField: { x: 1 } });
    expect((m as Record<string, unknown>).futureField).toEqual({ x: 1 });
  });

  it.each([
    ['wrong schema', { schema: 'webinfer.manifest/v2' }, 'schema'],
    ['bad id', { id: '../etc' }, 'id: invalid model id'],
    ['bad version', { version: 'v1.0' }, 'version: invalid semver version'],
    ['unknown task', { task: 'segmentation' }, 'task'],
    ['unknown format', { format: 'onnx' }, 'format'],
    ['bad date', { createdAt: 'yesterday' }, 'createdAt: invalid ISO timestamp'],
    ['bad output', { output: 'scores' }, 'output'],
    ['no float32 variant', { variants: {} }, 'variants.float32'],
  ])('rejects %s', (_name, over, expected) => {
    const r = check(Manifest, manifest(over));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.some((i) => i.startsWith(expected))).toBe(true);
  });

  it('rejects a missing required field with a path', () => {
    const doc = manifest();
    delete doc.task;
    const r = check(Manifest, doc);
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.issues[0]).toMatch(/^task: /);
  });

  it('rejects an empty file list', () => {
    const r = check(Manifest, manifest({ variants: { float32: { entry: 'model.json', files: [] } } }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.join()).toContain('variants.float32.files');
  });
});

describe('FileEntry', () => {
  it.each(['model.json', 'sub/dir/shard.bin', 'group1-shard1of2.bin', '.hidden'])('accepts path %s', (p) => {
    expect(check(FileEntry, { path: p, size: 0, sha256: H1 }).ok).toBe(true);
  });
  it.each(['../x', '/abs', 'a/../b', './a', 'a/./b', 'a\\b', '', 'a b', '..'])('rejects path %j', (p) => {
    expect(check(FileEntry, { path: p, size: 0, sha256: H1 }).ok).toBe(false);
  });
  it.each([
    ['upper-case hash', { sha256: 'A'.repeat(64) }],
    ['short hash', { sha256: 'a'.repeat(63) }],
    ['negative size', { size: -1 }],
    ['fractional size', { size: 1.5 }],
  ])('rejects %s', (_n, over) => {
    expect(check(FileEntry, { path: 'a', size: 1, sha256: H1, ...over }).ok).toBe(false);
  });
});

describe('ImagePreprocess', () => {
  it('rejects a zero std, bad channels and sizes', () => {
    expect(check(ImagePreprocess, { width: 2, height: 2, channels: 1, std: [0] }).ok).toBe(false);
    expect(check(ImagePreprocess, { width: 2, height: 2, channels: 2 }).ok).toBe(false);
    expect(check(ImagePreprocess, { width: 0, height: 2, channels: 1 }).ok).toBe(false);
    expect(check(ImagePreprocess, { width: 5000, height: 2, channels: 1 }).ok).toBe(false);
    expect(check(ImagePreprocess, { width: 2, height: 2, channels: 3, layout: 'chw' }).ok).toBe(false);
  });
});

describe('manifestProblems', () => {
  it('reports an entry that is not one of the files', () => {
    const m = valid({ variants: { float32: { entry: 'other.json', files: [{ path: 'model.json', size: 1, sha256: H1 }] } } });
    expect(manifestProblems(m)).toEqual(['variants.float32.entry: other.json is not one of its files']);
  });

  it('reports duplicate paths', () => {
    const f = { path: 'model.json', size: 1, sha256: H1 };
    const m = valid({ variants: { float32: { entry: 'model.json', files: [f, f] } } });
    expect(manifestProblems(m)).toEqual(['variants.float32.files: duplicate path model.json']);
  });

  it('checks every variant', () => {
    const m = valid({
      variants: {
        float32: { entry: 'model.json', files: [{ path: 'model.json', size: 1, sha256: H1 }] },
        uint8: { entry: 'q.json', files: [{ path: 'model.json', size: 1, sha256: H1 }] },
      },
    });
    expect(manifestProblems(m)).toEqual(['variants.uint8.entry: q.json is not one of its files']);
  });

  it('ignores unknown variant keys of another shape', () => {
    const m = valid({ variants: { ...(manifest().variants as object), int2: { url: 'x' } } });
    expect(manifestProblems(m)).toEqual([]);
  });

  it('requires labels and preprocess for image-classification', () => {
    expect(manifestProblems(valid({ labels: undefined, preprocess: undefined }))).toEqual([
      'preprocess: required for image-classification',
      'labels: required for image-classification',
    ]);
    expect(manifestProblems(valid({ labels: [] }))).toEqual(['labels: required for image-classification']);
  });

  it('checks mean/std lengths against channels', () => {
    expect(manifestProblems(valid({ preprocess: { width: 2, height: 2, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.2] } }))).toEqual([]);
    expect(manifestProblems(valid({ preprocess: { width: 2, height: 2, channels: 3, mean: [0.5, 0.5], std: [] } }))).toEqual([
      'preprocess.mean: needs 1 or 3 values',
      'preprocess.std: needs 1 or 3 values',
    ]);
  });

  it('allows a text-generation manifest without labels or preprocess, whatever its format', () => {
    const m = valid({ task: 'text-generation', format: 'tfjs-layers', labels: undefined, preprocess: undefined });
    expect(manifestProblems(m)).toEqual([]);
  });
});

describe('ModelIndex and Catalog', () => {
  const index = {
    schema: 'webinfer.model-index/v1',
    id: 'tiny-cnn',
    task: 'image-classification',
    versions: [{ version: '1.0.0', publishedAt: '2025-01-01T00:00:00Z', size: 3 }],
    aliases: { stable: '1.0.0', latest: '1.0.0' },
  };

  it('accepts a valid index and defaults yanked and history', () => {
    const r = check(ModelIndex, index);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.versions[0]!.yanked).toBe(false);
      expect(r.value.history).toEqual({});
    }
  });

  it('rejects bad alias names and alias targets', () => {
    expect(check(ModelIndex, { ...index, aliases: { '1.0.0': '1.0.0' } }).ok).toBe(false);
    expect(check(ModelIndex, { ...index, aliases: { Stable: '1.0.0' } }).ok).toBe(false);
    expect(check(ModelIndex, { ...index, aliases: { stable: 'latest' } }).ok).toBe(false);
  });

  it('validates the catalogue', () => {
    const ok = check(Catalog, { schema: 'webinfer.catalog/v1', models: [{ id: 'a', task: 'text-generation', aliases: {} }] });
    expect(ok).toMatchObject({ ok: true, value: { models: [{ id: 'a', versions: [] }] } });
    const bad = check(Catalog, { schema: 'webinfer.catalog/v1', models: [{ id: 'A', task: 'text-generation', aliases: {} }] });
    expect(bad).toEqual({ ok: false, issues: ['models.0.id: invalid model id'] });
  });
});
