/**
 * The publisher refuses what would only fail (or mislead) in the browser (issue 15, item 9): "variants" of weights
 * that are already quantized, cards that contradict their model (labels vs outputs, input size, logits on one
 * output); and it leaves no temp files behind.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRegistry } from '../src/ops.js';
import { cardProblems, graphModelShape, layersModelShape, publish } from '../src/publish.js';
import { RegistryStore } from '../src/store.js';
import { quantizeModel } from '../src/quantize.js';
import { RegistryStoreError } from '../src/store.js';
import { paths } from 'webinfer/protocol';
import { repo, tempDir, TINY, tinyCard } from './helpers/registry.js';
import type { Manifest } from 'webinfer/protocol';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
const fresh = (): string => path.join(dir, `r-${++n}`);
const rejection = async (p: Promise<unknown>): Promise<RegistryStoreError> => {
  try {
    await p;
  } catch (e) {
    return e as RegistryStoreError;
  }
  throw new Error('expected a rejection');
};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('webinfer-pubchk-'));
});
afterAll(async () => {
  await cleanup?.();
});

describe('already-quantized weights', () => {
  it('--quantize on weights that are already uint8 is refused (no variants pointing at the same bytes)', async () => {
    const json = JSON.parse(await readFile(path.join(TINY, 'model.json'), 'utf8')) as Record<string, unknown>;
    const q = quantizeModel(json, new Uint8Array(await readFile(path.join(TINY, 'group1-shard1of1.bin'))), 'uint8', 'model');
    const modelDir = path.join(dir, 'tiny-u8');
    await mkdir(modelDir, { recursive: true });
    await writeFile(path.join(modelDir, 'model.json'), q.files[0]!.bytes);
    await writeFile(path.join(modelDir, q.files[1]!.path), q.files[1]!.bytes);
    const card = await tinyCard();
    const e = await rejection(publish({ modelDir, root: fresh(), id: 'tiny-u8', version: '1.0.0', card, quantize: ['float16', 'uint8'] }));
    expect(e).toBeInstanceOf(RegistryStoreError);
    expect(e.code).toBe('INVALID');
    expect(e.message).toMatch(/no float32 weights \(its weights are uint8\)/);
    // Without --quantize it publishes (as its float32 variant, which the client reports as uint8).
    const r = await publish({ modelDir, root: fresh(), id: 'tiny-u8', version: '1.0.0', card });
    expect(Object.keys(r.manifest.variants)).toEqual(['float32']);
  });
});

describe('cards that contradict the model', () => {
  const manifestWith = (over: Partial<Manifest>): Manifest =>
    ({ task: 'image-classification', labels: Array.from({ length: 10 }, (_, i) => `c${i}`), preprocess: { width: 28, height: 28, channels: 1, layout: 'nhwc' }, output: 'probabilities', ...over }) as Manifest;
  let json: Record<string, unknown>;
  beforeAll(async () => {
    json = JSON.parse(await readFile(path.join(TINY, 'model.json'), 'utf8')) as Record<string, unknown>;
  });

  it('reads the input shape and output units of a layers model', () => {
    expect(layersModelShape(json)).toEqual({ input: [28, 28, 1], units: 10, activation: 'softmax' });
  });

  it('a card that matches has no problems', () => {
    expect(cardProblems(manifestWith({}), json)).toEqual([]);
  });

  it('labels against outputs, input size, channels, and logits on one output', () => {
    expect(cardProblems(manifestWith({ labels: ['a', 'b', 'c', 'd'] }), json)).toEqual(['labels: 4 labels but the model has 10 outputs (its last Dense layer)']);
    expect(cardProblems(manifestWith({ preprocess: { width: 32, height: 32, channels: 1 } as never }), json)[0]).toMatch(/^preprocess: 32×32×1 .* input is \[28,28,1\]/);
    expect(cardProblems(manifestWith({ preprocess: { width: 28, height: 28, channels: 3 } as never }), json)).toHaveLength(1);
    const one = structuredClone(json) as { modelTopology: { config: { layers: Array<{ config: Record<string, unknown> }> } } };
    const last = one.modelTopology.config.layers.at(-1)!.config;
    last['units'] = 1;
    last['activation'] = 'sigmoid';
    expect(cardProblems(manifestWith({ labels: ['yes'], output: 'logits' }), one as never)).toEqual([
      "output: 'logits' on a single output is softmax over one score, 1 for every input (the output is a sigmoid: use output 'probabilities')",
    ]);
  });

  it('publish refuses such a card with INVALID, writing nothing', async () => {
    const card = { ...(await tinyCard()), labels: ['a', 'b', 'c', 'd'] };
    const root = fresh();
    const e = await rejection(publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card }));
    expect(e.code).toBe('INVALID');
    expect(e.message).toMatch(/4 labels but the model has 10 outputs/);
    await expect(readdir(root)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('cards of graph models, and of versions already published', () => {
  const EMOTION = path.join(repo, 'models/emotion');
  const emotionCard = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(path.join(EMOTION, 'card.json'), 'utf8')) as Record<string, unknown>;

  it('a graph model\'s input comes from its placeholder, its output size from its signature', async () => {
    const json = JSON.parse(await readFile(path.join(EMOTION, 'emotion.json'), 'utf8')) as Record<string, unknown>;
    expect(graphModelShape(json)).toEqual({ input: [64, 64, 1] });
    const signed = { ...json, signature: { inputs: { x: { tensorShape: { dim: [{ size: '-1' }, { size: '64' }, { size: '64' }, { size: '1' }] } } }, outputs: { y: { tensorShape: { dim: [{ size: '-1' }, { size: '7' }] } } } } };
    expect(graphModelShape(signed)).toEqual({ input: [64, 64, 1], units: 7 });
    const m = { task: 'image-classification', format: 'tfjs-graph', labels: ['a', 'b', 'c'], preprocess: { width: 48, height: 48, channels: 1, layout: 'nhwc' } } as unknown as Manifest;
    expect(cardProblems(m, signed)).toEqual([
      'labels: 3 labels but the model has 7 outputs (its signature)',
      "preprocess: 48×48×1 (nhwc) but the model's input is [64,64,1] (height, width, channels)",
    ]);
  });

  it('publish refuses a graph model whose card has the wrong input size (was: a plain tfjs Error in the browser)', async () => {
    const card = await emotionCard();
    const e = await rejection(publish({ modelDir: EMOTION, root: fresh(), id: 'emotion', version: '1.0.0', card: { ...card, preprocess: { ...(card['preprocess'] as object), width: 48, height: 48 } } }));
    expect(e.code).toBe('INVALID');
    expect(e.message).toMatch(/preprocess: 48×48×1 .* input is \[64,64,1\]/);
  });

  it('verify reports a published version whose card contradicts its model', async () => {
    const root = fresh();
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: await tinyCard() });
    expect(await verifyRegistry(new RegistryStore(root))).toEqual([]);
    // A version written before the publish-time check (or by hand): 4 labels for 10 outputs.
    const file = path.join(root, paths.manifest('tiny-cnn', '1.0.0'));
    const m = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...m, labels: ['a', 'b', 'c', 'd'] }));
    expect(await verifyRegistry(new RegistryStore(root))).toEqual(['tiny-cnn@1.0.0: the card contradicts the model: labels: 4 labels but the model has 10 outputs (its last Dense layer)']);
  });
});

describe('temp files', () => {
  it('a chunked text-model publish leaves nothing in the temp folder', async () => {
    const tmp = path.join(dir, 'tmp');
    await mkdir(tmp);
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    try {
      const modelDir = path.join(dir, 'tiny-gpt');
      await cp(path.join(repo, 'models/tiny-gpt'), modelDir, { recursive: true });
      const r = await publish({ modelDir, root: fresh(), id: 'tiny-gpt', version: '1.0.0', card: path.join(modelDir, 'card.json'), chunkBytes: 64 * 1024, quantize: ['int8'] });
      expect(r.manifest.variants.float32.files.length).toBeGreaterThan(2); // it was chunked
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });
});
