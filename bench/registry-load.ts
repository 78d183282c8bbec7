/**
 * Load benchmark of the registry's two hosting forms on 127.0.0.1 (not part of `npm test`):
 * the service (`webinfer-registry serve`, in this process) and nginx with deploy/nginx.conf, each
 * hit with autocannon on a model index (revalidated and full), a manifest, a 10 MiB blob and two byte ranges of it (each range checked: 206 and its exact length)
 * (autocannon and, for the blob's throughput, curl).
 * Prints requests/s, p50/p99 latency and throughput as a table and writes them to
 * `.tmp/bench/registry-load.json`.
 *
 *   npm run bench:registry [-- --seconds 10 --connections 16]
 */
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { etagOf } from '../registry/src/ops.js';
import { publish } from '../registry/src/publish.js';
import { startRegistryServer } from '../registry/src/server/serve.js';
import { RegistryStore } from '../registry/src/store.js';
import { startNginx } from '../test/support/nginx.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('seconds', 10);
const connections = arg('connections', 16);

/** Runs curl downloading `url` `n` times (one connection); returns each transfer's seconds. */
function curlTimes(url: string, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const args = ['-s', '--fail'];
    for (let i = 0; i < n; i++) args.push(url, '-o', '/dev/null', '-w', '%{http_code} %{time_total}\\n');
    execFile('curl', args, (err, stdout) => {
      if (err) return reject(err);
      const lines = stdout.trim().split('\n');
      if (lines.length !== n || lines.some((l) => !l.startsWith('200 '))) return reject(new Error(`curl: ${stdout}`));
      resolve(lines.map((l) => Number(l.split(' ')[1])));
    });
  });
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'webinfer-bench-'));
  // A model with one 10 MiB shard (random bytes: realistic for weights, incompressible).
  const model = path.join(root, '.model');
  const repo = path.resolve(import.meta.dirname, '..');
  const tinyJson = JSON.parse(await import('node:fs/promises').then((f) => f.readFile(path.join(repo, 'models/tiny-cnn/model.json'), 'utf8'))) as {
    weightsManifest: Array<{ paths: string[] }>;
  };
  tinyJson.weightsManifest = [{ ...tinyJson.weightsManifest[0]!, paths: ['big.bin'] }];
  await import('node:fs/promises').then((f) => f.mkdir(model));
  await writeFile(path.join(model, 'model.json'), JSON.stringify(tinyJson));
  await writeFile(path.join(model, 'big.bin'), randomBytes(10 * 1024 * 1024));
  const r = await publish({
    modelDir: model,
    root,
    id: 'bench',
    version: '1.0.0',
    aliases: ['stable'],
    card: { task: 'image-classification', labels: Array.from({ length: 10 }, (_, i) => `c${i}`), preprocess: { width: 28, height: 28, channels: 1 } },
  });
  await rm(model, { recursive: true });
  const blob = r.manifest.variants.float32.files.find((f) => f.path === 'big.bin')!;
  const indexEtag = etagOf(await import('node:fs/promises').then((f) => f.readFile(new RegistryStore(root).abs('v1/models/bench/index.json'))));

  const service = await startRegistryServer({ root, port: 0, log: () => undefined, defaultMetrics: false });
  const nginx = await startNginx(root);
  const nginxIndex = await fetch(`${nginx.url}/v1/models/bench/index.json`);
  await nginxIndex.arrayBuffer();
  const nginxEtag = nginxIndex.headers.get('etag')!;

  const targets = [
    { name: 'index (If-None-Match → 304)', path: '/v1/models/bench/index.json', etag: true },
    { name: 'index (200)', path: '/v1/models/bench/index.json' },
    { name: 'manifest (200)', path: '/v1/models/bench/versions/1.0.0.json' },
    { name: 'blob 10 MiB (200)', path: `/v1/blobs/sha256/${blob.sha256}`, conns: 4 },
    // A resumed or chunked download: the second MiB of the blob.
    { name: 'blob, Range: 1 MiB (206)', path: `/v1/blobs/sha256/${blob.sha256}`, conns: 4, range: 'bytes=1048576-2097151' },
    { name: 'blob, Range: last 64 KiB (206)', path: `/v1/blobs/sha256/${blob.sha256}`, range: 'bytes=-65536' },
  ];
  const rows: Array<Record<string, string | number>> = [];
  for (const [form, url, etag] of [
    ['service', service.url, indexEtag],
    ['nginx', nginx.url, nginxEtag],
  ] as const) {
    for (const t of targets) {
      const res = await autocannon({
        url: `${url}${t.path}`,
        connections: t.conns ?? connections,
        duration: seconds,
        headers: { ...(t.etag ? { 'if-none-match': etag } : {}), ...(t.range ? { range: t.range } : {}) },
      });
      // A range must be answered 206 with the range's bytes: check one answer, not just the status class.
      if (t.range) {
        const one = await fetch(`${url}${t.path}`, { headers: { range: t.range } });
        const body = new Uint8Array(await one.arrayBuffer());
        const want = t.range === 'bytes=-65536' ? 65536 : 1048576;
        if (one.status !== 206 || body.length !== want) throw new Error(`${form} ${t.name}: got ${one.status} with ${body.length} bytes, expected 206 with ${want}`);
      }
      const non2xx = res.non2xx;
      rows.push({
        form,
        target: t.name,
        connections: t.conns ?? connections,
        'req/s': Math.round(res.requests.average),
        'p50 ms': res.latency.p50,
        'p99 ms': res.latency.p99,
        'MiB/s': Math.round((res.throughput.average / 1024 / 1024) * 10) / 10,
        errors: res.errors + res.timeouts,
        'non-2xx': t.etag ? res['3xx'] === res.requests.total ? 0 : non2xx : non2xx,
      });
      process.stderr.write(`${form} ${t.name}: ${Math.round(res.requests.average)} req/s, p99 ${res.latency.p99} ms\n`);
    }
  }
  // autocannon parses every byte in JavaScript, so with 10 MiB bodies it measures itself (~35 MiB/s
  // whatever the server). curl (C) is the client for blob throughput: 4 parallel processes, each
  // downloading the blob 10 times over one connection.
  for (const [form, url] of [
    ['service', service.url],
    ['nginx', nginx.url],
  ] as const) {
    const t0 = performance.now();
    const times = await Promise.all(
      Array.from({ length: 4 }, () => curlTimes(`${url}/v1/blobs/sha256/${blob.sha256}`, 10)),
    );
    const wall = (performance.now() - t0) / 1000;
    const all = times.flat().sort((a, b) => a - b);
    rows.push({
      form,
      target: 'blob 10 MiB via curl (200)',
      connections: 4,
      'req/s': Math.round((all.length / wall) * 10) / 10,
      'p50 ms': Math.round(all[Math.floor(all.length * 0.5)]! * 1000),
      'p99 ms': Math.round(all[Math.min(all.length - 1, Math.floor(all.length * 0.99))]! * 1000),
      'MiB/s': Math.round(((all.length * blob.size) / 1024 / 1024 / wall) * 10) / 10,
      errors: 0,
      'non-2xx': 0,
    });
  }
  await service.close();
  await nginx.close();
  await rm(root, { recursive: true, force: true });
  console.table(rows);
  mkdirSync('.tmp/bench', { recursive: true });
  writeFileSync('.tmp/bench/registry-load.json', `${JSON.stringify({ seconds, connections, rows, at: new Date().toISOString() }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
