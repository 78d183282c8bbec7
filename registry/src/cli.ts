#!/usr/bin/env node
/**
 * `webinfer-registry`: manage a registry (protocol v1) — a local root (`--root`) or the service
 * (`--registry URL`, with a token). Each command opens one `Registry` and makes one call on it.
 *
 * @example
 * webinfer-registry publish models/tiny-cnn --root .registry --id tiny-cnn --version 1.0.0 --alias stable --card models/tiny-cnn/card.json
 * webinfer-registry list --root .registry
 * webinfer-registry inspect tiny-cnn@stable --root .registry
 * webinfer-registry serve --root .registry --port 8080
 * webinfer-registry token create ci --scope publish --root .registry
 * WEBINFER_REGISTRY_TOKEN=wi_… webinfer-registry promote tiny-cnn stable 1.1.0 --registry http://127.0.0.1:8080
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { check, Variant } from 'webinfer/protocol';
import { repairRegistry, resignRegistry, verifyRegistry } from './ops.js';
import { progressBar } from './progress.js';
import { prepareVersion, quantizedDtypes, type PublishProgress } from './publish.js';
import { openRegistry, type Registry } from './registry.js';
import { RegistryStore, RegistryStoreError } from './store.js';
import { SCOPES, TokenStore, type Scope } from './tokens.js';
import { KeyStore } from './keys.js';

/** Where a command acts: a local root directory or a remote service. */
interface Target {
  root?: string;
  registry?: string;
  token?: string;
}

const targetOptions = (cmd: Command): Command =>
  cmd
    .option('--root <dir>', 'registry root directory (local)')
    .option('--registry <url>', 'base URL of a registry service (remote)')
    .addOption(new Option('--token <token>', 'bearer token for the service').env('WEBINFER_REGISTRY_TOKEN'));

/** The registry a command acts on: exactly one of `--root` and `--registry`. */
function open(o: Target): Registry {
  if (o.root !== undefined && o.registry === undefined) return openRegistry({ root: o.root });
  if (o.registry !== undefined && o.root === undefined) return openRegistry({ registry: o.registry, ...(o.token ? { token: o.token } : {}) });
  throw new RegistryStoreError('give exactly one of --root <dir> (local registry) or --registry <url> (service)', 'INVALID');
}

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function progressReporter(enabled: boolean): { onProgress?: (p: PublishProgress) => void; done: () => void } {
  if (!enabled) return { done: () => undefined };
  const bar = progressBar(process.stderr);
  return {
    onProgress: (p) => {
      if (p.phase === 'blob') bar.update(p.file, p.loaded, p.total);
    },
    done: () => bar.done(),
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--quantize float16,uint8` as a list (checked by `quantizedDtypes` in the action, after the target). */
function quantizeList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function makeProgram(): Command {
  const program = new Command()
    .name('webinfer-registry')
    .description('Publish, serve and manage webinfer model registries (protocol v1): a local directory (--root) or a registry service (--registry).')
    .showHelpAfterError(false);

  targetOptions(
    program
      .command('publish')
      .description('publish a model directory (format detected) as a new immutable version, locally or to a service')
      .argument('<model-dir>', 'directory with model.json (or another tfjs model JSON) and its weight shards'),
  )
    .requiredOption('--id <id>', 'model id, e.g. fashion-mnist-cnn')
    .requiredOption('--version <version>', 'semantic version, e.g. 1.0.0')
    .option('--alias <name>', 'point an alias at this version (repeatable); latest is automatic', collect, [] as string[])
    .option('--card <file>', 'model card JSON (task, description, labels, preprocess, output, license, …)')
    .option('--task <task>', 'task, overriding the card')
    .option('--description <text>', 'description, overriding the card')
    .option('--entry <file>', 'model JSON inside the directory (default: model.json)')
    .option('--quantize <dtypes>', 'also write quantized variants: float16, uint8 (image models), int8, int4 (text models), comma-separated', quantizeList)
    .option('--private', 'a new model is private: reads need a read token on the service, export leaves it out')
    .option('--no-progress', 'no progress bar')
    .action(async (modelDir: string, o: Target & { id: string; version: string; alias: string[]; card?: string; task?: string; description?: string; entry?: string; private?: boolean; progress: boolean; quantize?: string[] }) => {
      const registry = open(o);
      const prepared = await prepareVersion({
        modelDir,
        id: o.id,
        version: o.version,
        aliases: o.alias,
        ...(o.card !== undefined ? { card: o.card } : {}),
        ...(o.task !== undefined ? { task: o.task } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.entry !== undefined ? { entry: o.entry } : {}),
        ...(o.quantize !== undefined ? { quantize: quantizedDtypes(o.quantize) } : {}),
      });
      const progress = progressReporter(o.progress);
      const { manifest, index } = await registry
        .publish(prepared, { ...(o.private ? { private: true } : {}), ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) })
        .finally(async () => {
          progress.done();
          await prepared.dispose();
        });
      const aliases = Object.entries(index.aliases)
        .filter(([, v]) => v === manifest.version)
        .map(([a]) => a);
      const bytesOf = (files: ReadonlyArray<{ size: number }>): number => files.reduce((s, f) => s + f.size, 0);
      const files = manifest.variants.float32.files;
      const variants = Object.entries(manifest.variants).flatMap(([k, v]) => {
        const r = k === 'float32' ? undefined : check(Variant, v);
        return r?.ok ? [`${k} ${bytesOf(r.value.files)} bytes`] : [];
      });
      print(
        `published ${manifest.id}@${manifest.version} (${manifest.task}, ${manifest.format}, ${files.length} files, ${bytesOf(files)} bytes)` +
          `${variants.length ? `; variants: ${variants.join(', ')}` : ''}` +
          `${aliases.length ? `; aliases: ${aliases.join(', ')}` : ''}`,
      );
    });

  targetOptions(program.command('list').description('list the models of a registry with their aliases'))
    .option('--json', 'print the catalogue as JSON')
    .action(async (o: Target & { json?: boolean }) => {
      const catalog = await open(o).catalog();
      if (o.json) {
        print(JSON.stringify(catalog, null, 2));
        return;
      }
      if (catalog.models.length === 0) {
        print('(no models)');
        return;
      }
      for (const m of catalog.models) {
        const aliases = Object.entries(m.aliases)
          .map(([a, v]) => `${a}=${v}`)
          .join(' ');
        print(`${m.id}\t${m.task}\t${aliases}\tversions: ${m.versions.join(', ')}`);
      }
    });

  targetOptions(
    program
      .command('inspect')
      .description('print the manifest a reference (id, id@alias, id@version) resolves to')
      .argument('<ref>', 'model reference'),
  ).action(async (ref: string, o: Target) => {
    const { manifest } = await open(o).resolve(ref);
    print(JSON.stringify(manifest, null, 2));
  });

  targetOptions(
    program
      .command('promote')
      .description('point an alias at a version (optimistic concurrency: refused if the index changed meanwhile)')
      .argument('<id>', 'model id')
      .argument('<alias>', 'alias, e.g. stable')
      .argument('<version>', 'version to point at'),
  )
    .option('--if-match <etag>', 'ETag of the model index your decision is based on (default: the current one)')
    .action(async (id: string, alias: string, version: string, o: Target & { ifMatch?: string }) => {
      const r = await open(o).promote(id, alias, version, o.ifMatch !== undefined ? { ifMatch: o.ifMatch } : {});
      print(`${id}: ${r.change}`);
    });

  targetOptions(
    program
      .command('rollback')
      .description("move an alias back to its previous target (from the alias history)")
      .argument('<id>', 'model id')
      .argument('<alias>', 'alias, e.g. stable'),
  ).action(async (id: string, alias: string, o: Target) => {
    const r = await open(o).rollback(id, alias);
    print(`${id}: ${r.change}`);
  });

  targetOptions(
    program
      .command('yank')
      .description('withdraw a version: still downloadable when pinned, never chosen by an alias')
      .argument('<id>', 'model id')
      .argument('<version>', 'version'),
  )
    .option('--undo', 'restore a yanked version')
    .action(async (id: string, version: string, o: Target & { undo?: boolean }) => {
      const r = await open(o).yank(id, version, { yanked: !o.undo });
      print(`${id}: ${r.change}`);
    });

  targetOptions(program.command('gc').description('remove leftovers of aborted uploads (.tmp-*) and blobs no manifest references'))
    .option('--min-age <seconds>', 'only files older than this (spares uploads in progress)', '3600')
    .option('--dry-run', 'list, do not remove')
    .action(async (o: Target & { minAge: string; dryRun?: boolean }) => {
      const minAgeMs = Number(o.minAge) * 1000;
      if (!Number.isFinite(minAgeMs) || minAgeMs < 0) throw new RegistryStoreError('--min-age must be a number of seconds ≥ 0', 'INVALID');
      const r = await open(o).gc({ minAgeMs, dryRun: o.dryRun === true });
      for (const f of [...r.temp, ...r.orphans]) print(`${o.dryRun ? 'would remove' : 'removed'} ${f}`);
      print(`gc: ${r.temp.length} temp file(s), ${r.orphans.length} orphan blob(s), ${r.bytes} bytes`);
    });

  targetOptions(program.command('export').description('write the static tree (for nginx, an object store or a CDN) of the public models'))
    .requiredOption('--out <dir>', 'output directory')
    .option('--include-private', 'include private models (the static tree has no access control)')
    .action(async (o: Target & { out: string; includePrivate?: boolean }) => {
      const r = await open(o).exportStatic(o.out, { includePrivate: o.includePrivate === true });
      print(`exported ${r.models} model(s), ${r.manifests} manifest(s), ${r.blobs} blob(s) (${r.bytes} bytes) to ${o.out}`);
    });

  program
    .command('verify')
    .description('check consistency: every indexed version has its manifest, every blob exists with the right hash')
    .requiredOption('--root <dir>', 'registry root directory')
    .option('--repair', 'move corrupt blobs to {root}/.webinfer/quarantine and put back missing ones found in --from')
    .option('--from <dir>', 'with --repair: a directory (model files, an exported tree, a backup) to take the right bytes from; repeatable', collect, [])
    .action(async (o: { root: string; repair?: boolean; from: string[] }) => {
      const store = new RegistryStore(o.root);
      if (o.repair) {
        const r = await repairRegistry(store, { from: o.from });
        for (const h of r.quarantined) print(`quarantined corrupt blob ${h}`);
        for (const h of r.repaired) print(`repaired blob ${h}`);
        for (const h of r.missing) print(`still missing: blob ${h} (upload it again, or publish its model again)`);
      }
      const problems = await verifyRegistry(store);
      for (const p of problems) print(`problem: ${p}`);
      if (problems.length > 0) throw new RegistryStoreError(`${problems.length} problem(s)`, 'INVALID');
      print('registry is consistent');
    });

  program
    .command('serve')
    .description('serve the registry over HTTP: protocol v1 reads, token-protected writes, /healthz, /metrics')
    .option('--root <dir>', 'registry root directory')
    .option('--demo', "serve the demo models of @webinfer/models (npm install @webinfer/models) instead of --root")
    .option('--port <n>', 'port', '8080')
    .option('--host <addr>', 'interface to listen on', '127.0.0.1')
    .option('--max-blob-mb <n>', 'largest blob upload, MiB', '4096')
    .option('--upload-stall-s <n>', 'refuse an upload that sends nothing for this long', '30')
    .option('--body-timeout-s <n>', 'refuse a JSON body that has not arrived after this long', '30')
    .option('--headers-timeout-s <n>', 'disconnect a client whose request headers have not arrived after this long', '30')
    .option('--max-connections-per-client <n>', 'open connections per client address (0: no limit)', '64')
    .option('--rate-limit <n>', 'requests per second per client address (0: no limit; limit at the CDN when there is one)', '0')
    .option('--auth-failures-per-minute <n>', 'failed authentications per client per minute before it is throttled (0: off)', '10')
    .addOption(new Option('--metrics-token <token>', 'require this bearer token on /metrics').env('WEBINFER_METRICS_TOKEN'))
    .action(
      async (o: {
        root?: string;
        demo?: boolean;
        port: string;
        host: string;
        maxBlobMb: string;
        uploadStallS: string;
        bodyTimeoutS: string;
        headersTimeoutS: string;
        maxConnectionsPerClient: string;
        rateLimit: string;
        authFailuresPerMinute: string;
        metricsToken?: string;
      }) => {
      if (o.demo === true && o.root !== undefined) throw new RegistryStoreError('--demo and --root exclude each other', 'INVALID');
      const root = o.demo === true ? demoRoot() : o.root;
      if (root === undefined) throw new RegistryStoreError("required option '--root <dir>' not specified (or pass --demo)", 'INVALID');
      const num = (flag: string, v: string): number => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new RegistryStoreError(`${flag} must be a number ≥ 0, got "${v}"`, 'INVALID');
        return n;
      };
      const { startRegistryServer } = await import('./server/serve.js');
      const rate = num('--rate-limit', o.rateLimit);
      const s = await startRegistryServer({
        root,
        port: Number(o.port),
        host: o.host,
        maxBlobBytes: Math.round(num('--max-blob-mb', o.maxBlobMb) * 1024 * 1024),
        uploadStallMs: num('--upload-stall-s', o.uploadStallS) * 1000,
        bodyTimeoutMs: num('--body-timeout-s', o.bodyTimeoutS) * 1000,
        headersTimeoutMs: num('--headers-timeout-s', o.headersTimeoutS) * 1000,
        maxConnectionsPerClient: num('--max-connections-per-client', o.maxConnectionsPerClient),
        ...(rate > 0 ? { rateLimit: { requests: rate, windowMs: 1000 } } : {}),
        authFailuresPerMinute: num('--auth-failures-per-minute', o.authFailuresPerMinute),
        ...(o.metricsToken ? { metricsToken: o.metricsToken } : {}),
      });
      process.stderr.write(`webinfer-registry: serving ${new RegistryStore(root).root} at ${s.url}\n`);
      if (o.demo === true) process.stderr.write(`webinfer-registry: demo models: fashion-mnist-cnn@stable, emotion@stable, tiny-gpt@stable (createClient({ registry: '${s.url}' }))\n`);
      const stop = (): void => {
        void s.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise(() => undefined); // until a signal
    },
    );

  const keys = program.command('keys').description('manage the Ed25519 keys that sign every version published into a root (private halves in {root}/.webinfer/keys)');
  keys
    .command('create')
    .argument('<name>', 'key name')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (name: string, o: { root: string }) => {
      const k = await new KeyStore(o.root).create(name);
      process.stderr.write(`created signing key "${k.name}"; versions published into ${o.root} from now on are signed by it. Clients pin it with createClient({ trust: { keys: [key] } }):\n`);
      print(k.key);
    });
  keys
    .command('list')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (o: { root: string }) => {
      for (const k of await new KeyStore(o.root).list()) print(`${k.name}\t${k.key}\t${k.createdAt}${k.revokedAt ? `\trevoked ${k.revokedAt}` : ''}`);
    });
  keys
    .command('revoke')
    .argument('<name>', 'key name')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (name: string, o: { root: string }) => {
      const k = await new KeyStore(o.root).revoke(name);
      const r = await resignRegistry(new RegistryStore(o.root), new KeyStore(o.root));
      print(`revoked signing key "${k.name}" (${k.key}); its private key is deleted. ${r.models} model indexes list the revocation (clients pinning it now refuse what only it signs); ${r.versions} versions re-signed by the live keys`);
    });
  keys
    .command('resign')
    .description('sign every published version by every live key and list the keys (with revocations) in every index')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (o: { root: string }) => {
      const r = await resignRegistry(new RegistryStore(o.root), new KeyStore(o.root));
      print(`${r.versions} versions signed by the live keys; ${r.models} model indexes list the keys`);
    });

  const token = program.command('token').description('manage the bearer tokens of a registry service (stored hashed in {root}/.webinfer/tokens.json)');
  token
    .command('create')
    .argument('<name>', 'token name (shown in audit logs)')
    .requiredOption('--root <dir>', 'registry root directory')
    .requiredOption('--scope <scopes>', `comma-separated scopes: ${SCOPES.join(', ')}`)
    .action(async (name: string, o: { root: string; scope: string }) => {
      const scopes = o.scope.split(',').map((x) => x.trim()).filter(Boolean) as Scope[];
      const { token: t, record } = await new TokenStore(o.root).create(name, scopes);
      process.stderr.write(`created token "${record.name}" (${record.scopes.join(', ')}); it is shown once:\n`);
      print(t);
    });
  token
    .command('revoke')
    .argument('<name>', 'token name')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (name: string, o: { root: string }) => {
      const n = await new TokenStore(o.root).revoke(name);
      print(`revoked ${n} token(s) named "${name}"`);
    });
  token
    .command('list')
    .requiredOption('--root <dir>', 'registry root directory')
    .action(async (o: { root: string }) => {
      for (const r of await new TokenStore(o.root).list()) print(`${r.name}\t${r.scopes.join(',')}\t${r.createdAt}${r.revokedAt ? `\trevoked ${r.revokedAt}` : ''}`);
    });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = makeProgram().exitOverride();
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride();
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

/**
 * The registry tree of `@webinfer/models`: resolved from the current folder first (the user's project),
 * then from this package's own location.
 */
function demoRoot(): string {
  for (const from of [path.join(process.cwd(), 'noop.js'), import.meta.url]) {
    try {
      const pkg = createRequire(from).resolve('@webinfer/models/package.json');
      const root = path.join(path.dirname(pkg), 'registry');
      if (existsSync(path.join(root, 'v1', 'models.json'))) return root;
    } catch {
      // not installed there
    }
  }
  throw new RegistryStoreError('--demo needs the demo models: npm install @webinfer/models', 'NOT_FOUND');
}
