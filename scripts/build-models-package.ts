/**
 * Builds the `@webinfer/models` package's registry tree (models-package/registry/): the project's models
 * published with the registry's own publisher, ready to serve (`npx webinfer-registry serve --demo`) or to
 * host as static files (`webinfer-registry export`).
 *
 * - `fashion-mnist-cnn` 1.0.0 (aliases stable, latest): the Fashion-MNIST CNN of models/fashion-mnist-cnn,
 *   with float16 and uint8 variants;
 * - `emotion` 1.0.0 (stable, latest): the MIT emotion graph model of models/emotion;
 * - `tiny-gpt` 1.0.0 (stable, latest): the GPT-2 trained here on Debian's fortunes (models/tiny-gpt), with an int8 variant;
 * - `fashion-vae` and `fashion-dcgan` 1.0.0 (stable, latest): the Fashion-MNIST image generators trained here
 *   (models/fashion-vae: decoder + encoder; models/fashion-dcgan: generator);
 * - `langid-lstm` 1.0.0 (stable, latest): the character LSTM language identifier of models/langid-lstm (text-classification);
 * - `fashion-embed` 1.0.0 (stable, latest): the Fashion CNN up to its Dense-64, models/fashion-embed (feature-extraction).
 *
 * Fixed timestamps: the same sources give the same tree, byte for byte. Run by the package's `prepack`
 * and by scripts/consumers.ts.
 *
 *   npx tsx scripts/build-models-package.ts [out]   (default: models-package/registry)
 */
import { readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publish, type PublishOptions } from '../registry/src/publish.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(process.argv[2] ?? path.join(repo, 'models-package/registry'));
const dir = (m: string): string => path.join(repo, 'models', m);
const card = async (m: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(path.join(dir(m), 'card.json'), 'utf8')) as Record<string, unknown>;
const now = new Date('2026-01-01T00:00:00.000Z');

const jobs: Array<Omit<PublishOptions, 'root'>> = [
  { modelDir: dir('fashion-mnist-cnn'), id: 'fashion-mnist-cnn', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('fashion-mnist-cnn'), quantize: ['float16', 'uint8'], now },
  { modelDir: dir('emotion'), id: 'emotion', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('emotion'), now },
  { modelDir: dir('tiny-gpt'), id: 'tiny-gpt', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('tiny-gpt'), quantize: ['int8'], now },
  { modelDir: dir('fashion-vae'), id: 'fashion-vae', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('fashion-vae'), entry: 'decoder.json', now },
  { modelDir: dir('fashion-dcgan'), id: 'fashion-dcgan', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('fashion-dcgan'), entry: 'generator.json', now },
  { modelDir: dir('langid-lstm'), id: 'langid-lstm', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('langid-lstm'), now },
  { modelDir: dir('fashion-embed'), id: 'fashion-embed', version: '1.0.0', aliases: ['stable', 'latest'], card: await card('fashion-embed'), now },
];

await rm(root, { recursive: true, force: true });
for (const job of jobs) {
  const r = await publish({ ...job, root });
  process.stdout.write(`published ${r.id}@${r.version}\n`);
}
process.stdout.write(`models registry: ${path.relative(process.cwd(), root) || root}\n`);
