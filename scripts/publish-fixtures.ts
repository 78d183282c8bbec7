/**
 * Publishes the test/demo fixtures into a filesystem registry:
 *
 * - `tiny-cnn` 1.0.0 (alias `stable`) and 1.1.0 (same files, another description; `latest` only,
 *   so `stable` stays at 1.0.0);
 * - `emotion` 1.0.0 (alias `stable`), the real MIT graph model of `models/emotion`;
 * - `fashion-mnist-cnn` 1.0.0 (alias `stable`), the trained CNN of `models/fashion-mnist-cnn`,
 *   with float16 and uint8 variants;
 * - `not-a-classifier` 1.0.0: the tiny-cnn files published as task `text-generation`
 *   (a fixture for TaskMismatchError);
 * - `tiny-gpt` 1.0.0 (alias `stable`): the GPT-2 trained here (`models/tiny-gpt`, format
 *   gpt2-safetensors); `tiny-gpt-chunked` 1.0.0: the same files with `model.safetensors`
 *   split into 1 MB chunks (a fixture for chunked downloads);
 * - `llama-tiny` 1.0.0 (alias `stable`, with float16, int8 and int4 variants) and `qwen2-tiny` 1.0.0
 *   (alias `stable`): the seeded Llama- and Qwen2-shaped parity checkpoints of `models/llama-tiny/make.py`
 *   (format llama-safetensors, each with its tokenizer and chat template).
 * - `llama-fortunes` 1.0.0 (alias `stable`, with float16, int8 and int4 variants): the Llama-style model trained
 *   here on Debian's fortunes (`models/llama-fortunes/train.py`), the demo's text model.
 * - `fashion-vae` 1.0.0 and `fashion-dcgan` 1.0.0 (alias `stable`): the image generators trained here on
 *   Fashion-MNIST (`models/fashion-vae/train.py`: decoder + encoder; `models/fashion-dcgan/train.py`: generator).
 * - `langid-lstm` 1.0.0 (alias `stable`): the character LSTM language identifier trained here (`models/langid-lstm/train.py`),
 *   task text-classification.
 * - `fashion-embed` 1.0.0 (alias `stable`): the Fashion CNN up to its Dense-64 (`models/fashion-embed/make.py`), task feature-extraction.
 *
 * Idempotent: versions already in the registry are skipped.
 *
 *   npx tsx scripts/publish-fixtures.ts [root]   (default root: .registry)
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publish, type PublishOptions } from '../registry/src/publish.js';
import { RegistryStore } from '../registry/src/store.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(process.argv[2] ?? '.registry');
const tinyDir = path.join(repo, 'models', 'tiny-cnn');
const emotionDir = path.join(repo, 'models', 'emotion');
const fashionDir = path.join(repo, 'models', 'fashion-mnist-cnn');
const gptDir = path.join(repo, 'models', 'tiny-gpt');
const llamaDir = path.join(repo, 'models', 'llama-tiny');
const qwenDir = path.join(repo, 'models', 'qwen2-tiny');
const fortunesDir = path.join(repo, 'models', 'llama-fortunes');
const vaeDir = path.join(repo, 'models', 'fashion-vae');
const ganDir = path.join(repo, 'models', 'fashion-dcgan');
const langidDir = path.join(repo, 'models', 'langid-lstm');
const embedDir = path.join(repo, 'models', 'fashion-embed');

const readCard = async (dir: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(path.join(dir, 'card.json'), 'utf8')) as Record<string, unknown>;

/** Fixed timestamps keep the fixture registry reproducible. */
const at = (iso: string): Date => new Date(iso);

async function main(): Promise<void> {
  const tinyCard = await readCard(tinyDir);
  const emotionCard = await readCard(emotionDir);
  const fashionCard = await readCard(fashionDir);
  const gptCard = await readCard(gptDir);
  const jobs: Array<Omit<PublishOptions, 'root'>> = [
    { modelDir: tinyDir, id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: tinyCard, now: at('2025-01-01T00:00:00.000Z') },
    {
      modelDir: tinyDir,
      id: 'tiny-cnn',
      version: '1.1.0',
      aliases: ['latest'],
      card: { ...tinyCard, description: `${String(tinyCard.description)} Version 1.1.0: same weights, new description.` },
      now: at('2025-02-01T00:00:00.000Z'),
    },
    { modelDir: emotionDir, id: 'emotion', version: '1.0.0', aliases: ['stable'], card: emotionCard, now: at('2025-01-01T00:00:00.000Z') },
    {
      modelDir: fashionDir,
      id: 'fashion-mnist-cnn',
      version: '1.0.0',
      aliases: ['stable'],
      card: fashionCard,
      quantize: ['float16', 'uint8'],
      now: at('2025-03-01T00:00:00.000Z'),
    },
    {
      modelDir: tinyDir,
      id: 'not-a-classifier',
      version: '1.0.0',
      aliases: ['stable'],
      card: {
        task: 'text-generation',
        format: 'tfjs-layers',
        description: 'The tiny-cnn files published as a text-generation model: a fixture for TaskMismatchError, not a usable model.',
        license: 'MIT',
        source: 'scripts/publish-fixtures.ts',
      },
      now: at('2025-01-01T00:00:00.000Z'),
    },
    { modelDir: gptDir, id: 'tiny-gpt', version: '1.0.0', aliases: ['stable'], card: gptCard, now: at('2025-01-01T00:00:00.000Z') },
    {
      modelDir: gptDir,
      id: 'tiny-gpt-chunked',
      version: '1.0.0',
      aliases: ['stable'],
      card: { ...gptCard, description: `${String(gptCard.description)} Published in 1 MB chunks (test fixture).` },
      chunkBytes: 1024 * 1024,
      now: at('2025-01-01T00:00:00.000Z'),
    },
    { modelDir: llamaDir, id: 'llama-tiny', version: '1.0.0', aliases: ['stable'], card: await readCard(llamaDir), quantize: ['float16', 'int8', 'int4'], now: at('2025-04-01T00:00:00.000Z') },
    { modelDir: qwenDir, id: 'qwen2-tiny', version: '1.0.0', aliases: ['stable'], card: await readCard(qwenDir), now: at('2025-04-01T00:00:00.000Z') },
    { modelDir: fortunesDir, id: 'llama-fortunes', version: '1.0.0', aliases: ['stable'], card: await readCard(fortunesDir), quantize: ['float16', 'int8', 'int4'], now: at('2025-05-01T00:00:00.000Z') },
    { modelDir: vaeDir, id: 'fashion-vae', version: '1.0.0', aliases: ['stable'], card: await readCard(vaeDir), entry: 'decoder.json', now: at('2025-06-01T00:00:00.000Z') },
    { modelDir: ganDir, id: 'fashion-dcgan', version: '1.0.0', aliases: ['stable'], card: await readCard(ganDir), entry: 'generator.json', now: at('2025-06-01T00:00:00.000Z') },
    { modelDir: langidDir, id: 'langid-lstm', version: '1.0.0', aliases: ['stable'], card: await readCard(langidDir), now: at('2025-06-01T00:00:00.000Z') },
    { modelDir: embedDir, id: 'fashion-embed', version: '1.0.0', aliases: ['stable'], card: await readCard(embedDir), now: at('2025-06-01T00:00:00.000Z') },
  ];

  const store = new RegistryStore(root);
  for (const job of jobs) {
    if (await store.readManifest(job.id, job.version)) {
      process.stdout.write(`skip ${job.id}@${job.version} (already published)\n`);
      continue;
    }
    const r = await publish({ ...job, root });
    const aliases = Object.entries(r.index.aliases)
      .filter(([, v]) => v === r.version)
      .map(([a]) => a);
    process.stdout.write(`published ${r.id}@${r.version}${aliases.length ? ` (${aliases.join(', ')})` : ''}\n`);
  }
  process.stdout.write(`registry: ${root}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`publish-fixtures: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
