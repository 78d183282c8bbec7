/**
 * Publishing image generators: a VAE's encoder (the card's `generator.encoder`) is published beside the
 * entry (the decoder) in the variant's files; the card's latentDim is checked against the generator's input.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../src/publish.js';
import { RegistryStoreError } from '../src/store.js';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');
const VAE = path.join(MODELS, 'fashion-vae');
const GAN = path.join(MODELS, 'fashion-dcgan');
let tmp: string;
let n = 0;
const freshRoot = (): string => path.join(tmp, `root-${++n}`);
const card = async (dir: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(path.join(dir, 'card.json'), 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'webinfer-publish-gen-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('publish image-generation models', () => {
  it('a VAE: the decoder is the entry, the encoder and its weights are files of the variant; the generator section is kept', async () => {
    const r = await publish({ modelDir: VAE, root: freshRoot(), id: 'fashion-vae', version: '1.0.0', entry: 'decoder.json', card: await card(VAE) });
    expect(r.manifest.task).toBe('image-generation');
    expect(r.manifest.variants.float32.entry).toBe('decoder.json');
    expect(r.manifest.variants.float32.files.map((f) => [f.path, f.size])).toEqual([
      ['decoder.json', (await stat(path.join(VAE, 'decoder.json'))).size],
      ['decoder.bin', (await stat(path.join(VAE, 'decoder.bin'))).size],
      ['encoder.json', (await stat(path.join(VAE, 'encoder.json'))).size],
      ['encoder.bin', (await stat(path.join(VAE, 'encoder.bin'))).size],
    ]);
    expect(r.manifest.generator).toMatchObject({ kind: 'vae', latentDim: 16, width: 28, height: 28, channels: 1, outputRange: [0, 1], encoder: 'encoder.json', sampler: 'mulberry32-box-muller' });
  });

  it('a GAN: the generator alone', async () => {
    const r = await publish({ modelDir: GAN, root: freshRoot(), id: 'fashion-dcgan', version: '1.0.0', entry: 'generator.json', card: await card(GAN) });
    expect(r.manifest.variants.float32.files.map((f) => f.path)).toEqual(['generator.json', 'generator.bin']);
    expect(r.manifest.generator?.kind).toBe('gan');
  });

  it('refuses a card whose latentDim is not the generator input, a VAE card without an encoder, and no generator section', async () => {
    const vae = await card(VAE);
    const fail = async (c: Record<string, unknown>): Promise<string> => {
      try {
        await publish({ modelDir: VAE, root: freshRoot(), id: 'fashion-vae', version: '1.0.0', entry: 'decoder.json', card: c });
      } catch (e) {
        expect(e).toBeInstanceOf(RegistryStoreError);
        return (e as Error).message;
      }
      throw new Error('expected a refusal');
    };
    const g = vae['generator'] as Record<string, unknown>;
    expect(await fail({ ...vae, generator: { ...g, latentDim: 32 } })).toMatch(/generator\.latentDim: 32 but the generator's input is \[16\]/);
    expect(await fail({ ...vae, generator: { ...g, encoder: undefined } })).toMatch(/generator\.encoder: required for kind vae/);
    const { generator: _g, ...bare } = vae;
    expect(await fail(bare)).toMatch(/generator: required for image-generation/);
  });
});
