#!/usr/bin/env node
/**
 * `webinfer-registry`: manage a filesystem registry (protocol v1).
 *
 * @example
 * webinfer-registry publish models/tiny-cnn --root .registry --id tiny-cnn --version 1.0.0 --alias stable --card models/tiny-cnn/card.json
 * webinfer-registry list --root .registry
 * webinfer-registry inspect tiny-cnn@stable --root .registry
 */
import { Command, CommanderError } from 'commander';
import { parseRef, resolveVersion } from '../registry/refs.js';
import { ModelNotFoundError } from '../errors/model-not-found.js';
import { publish } from './publish.js';
import type { QuantizedDtype } from './quantize.js';
import { RegistryStore } from './store.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function makeProgram(): Command {
  const program = new Command()
    .name('webinfer-registry')
    .description('Publish and inspect webinfer model registries (protocol v1) kept as static files.')
    .showHelpAfterError(false);

  program
    .command('publish')
    .description('publish a TensorFlow.js model directory as a new immutable version')
    .argument('<model-dir>', 'directory with model.json (or another tfjs model JSON) and its weight shards')
    .requiredOption('--root <dir>', 'registry root directory')
    .requiredOption('--id <id>', 'model id, e.g. fashion-mnist-cnn')
    .requiredOption('--version <version>', 'semantic version, e.g. 1.0.0')
    .option('--alias <name>', 'point an alias at this version (repeatable); latest is automatic', collect, [] as string[])
    .option('--card <file>', 'model card JSON (task, description, labels, preprocess, output, license, …)')
    .option('--task <task>', 'task, overriding the card')
    .option('--description <text>', 'description, overriding the card')
    .option('--entry <file>', 'model JSON inside the directory (default: model.json)')
    .option('--quantize <dtypes>', 'also write quantized variants: float16, uint8 or float16,uint8', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .action(async (modelDir: string, o: { root: string; id: string; version: string; alias: string[]; card?: string; task?: string; description?: string; entry?: string; quantize?: string[] }) => {
      const r = await publish({
        modelDir,
        root: o.root,
        id: o.id,
        version: o.version,
        aliases: o.alias,
        ...(o.card !== undefined ? { card: o.card } : {}),
        ...(o.task !== undefined ? { task: o.task } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.entry !== undefined ? { entry: o.entry } : {}),
        ...(o.quantize !== undefined ? { quantize: o.quantize as QuantizedDtype[] } : {}),
      });
      const aliases = Object.entries(r.index.aliases)
        .filter(([, v]) => v === r.version)
        .map(([a]) => a);
      const files = r.manifest.variants.float32.files;
      const bytes = files.reduce((s, f) => s + f.size, 0);
      const variants = Object.entries(r.manifest.variants)
        .filter(([k]) => k !== 'float32')
        .map(([k, v]) => `${k} ${(v as { files: { size: number }[] }).files.reduce((s, f) => s + f.size, 0)} bytes`);
      process.stdout.write(
        `published ${r.id}@${r.version} (${r.manifest.task}, ${r.manifest.format}, ${files.length} files, ${bytes} bytes)` +
          `${variants.length ? `; variants: ${variants.join(', ')}` : ''}` +
          `${aliases.length ? `; aliases: ${aliases.join(', ')}` : ''}\n`,
      );
    });

  program
    .command('list')
    .description('list the models of a registry with their aliases')
    .requiredOption('--root <dir>', 'registry root directory')
    .option('--json', 'print the catalogue as JSON')
    .action(async (o: { root: string; json?: boolean }) => {
      const catalog = await new RegistryStore(o.root).readCatalog();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(catalog ?? { schema: 'webinfer.catalog/v1', models: [] }, null, 2)}\n`);
        return;
      }
      if (!catalog || catalog.models.length === 0) {
        process.stdout.write('(no models)\n');
        return;
      }
      for (const m of catalog.models) {
        const aliases = Object.entries(m.aliases)
          .map(([a, v]) => `${a}=${v}`)
          .join(' ');
        process.stdout.write(`${m.id}\t${m.task}\t${aliases}\tversions: ${m.versions.join(', ')}\n`);
      }
    });

  program
    .command('inspect')
    .description('print the manifest a reference (id, id@alias, id@version) resolves to')
    .argument('<ref>', 'model reference')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (refText: string, o: { root: string }) => {
      const ref = parseRef(refText);
      const store = new RegistryStore(o.root);
      const index = await store.readIndex(ref.id);
      if (!index) throw new ModelNotFoundError(`model "${ref.id}" not found in ${store.root}`, { model: ref.id });
      const version = resolveVersion(index, ref);
      const manifest = await store.readManifest(ref.id, version);
      if (!manifest) throw new ModelNotFoundError(`manifest of ${ref.id}@${version} is missing`, { model: ref.id, version });
      process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = makeProgram().exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its one-line message (or the help text).
      return e.exitCode;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`webinfer-registry: error: ${message.split('\n')[0]}\n`);
    return 1;
  }
}

process.exitCode = await main();
