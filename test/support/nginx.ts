/**
 * Starts Debian's nginx on a loopback port with the shipped `deploy/nginx.conf` (only `listen`
 * and `root` substituted), in a private prefix (pid, logs, temp dirs in a temp directory).
 * A missing nginx is a failure with a clear message (`bash scripts/setup.sh` installs it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NGINX = process.env['NGINX_PATH'] ?? '/usr/sbin/nginx';

export interface RunningNginx {
  readonly url: string;
  readonly port: number;
  /** Request lines of the access log so far (`GET /v1/... HTTP/1.1" 200`). */
  accessLog(): Promise<string[]>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The shipped server block with `listen` and `root` replaced. */
export async function shippedServerBlock(port: number, root: string): Promise<string> {
  const conf = await readFile(path.join(repo, 'deploy/nginx.conf'), 'utf8');
  const out = conf.replace(/^(\s*)listen\s+[^;]+;/m, `$1listen 127.0.0.1:${port};`).replace(/^(\s*)root\s+[^;]+;/m, `$1root ${root};`);
  if (out === conf || !out.includes(`listen 127.0.0.1:${port};`) || !out.includes(`root ${root};`)) throw new Error('deploy/nginx.conf: listen/root directives not found');
  return out;
}

/** Starts nginx serving `root`, on `port` (default: a free one). */
export async function startNginx(root: string, fixedPort?: number): Promise<RunningNginx> {
  if (!existsSync(NGINX)) {
    throw new Error(`No nginx at ${NGINX}: run \`bash scripts/setup.sh\` (installs Debian's nginx-light) or set NGINX_PATH. Tests never skip.`);
  }
  const prefix = await mkdtemp(path.join(tmpdir(), 'webinfer-nginx-'));
  await chmod(prefix, 0o755);
  for (let attempt = 0; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const conf = path.join(prefix, 'nginx.conf');
    const isRoot = process.getuid?.() === 0;
    await writeFile(path.join(prefix, 'registry.conf'), await shippedServerBlock(port, root));
    await writeFile(
      conf,
      [
        isRoot ? 'user root root;' : '',
        'worker_processes 1;',
        `pid ${prefix}/nginx.pid;`,
        `error_log ${prefix}/error.log warn;`,
        'events { worker_connections 256; }',
        'http {',
        `  access_log ${prefix}/access.log;`,
        `  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;`,
        `  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;`,
        '  sendfile on;',
        `  include ${prefix}/registry.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    const test = spawnSync(NGINX, ['-p', prefix, '-e', `${prefix}/error.log`, '-c', conf, '-t'], { encoding: 'utf8' });
    if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`);
    const proc = spawn(NGINX, ['-p', prefix, '-e', `${prefix}/error.log`, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    let up = false;
    while (Date.now() < deadline) {
      const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]);
      if (done) break;
      try {
        if ((await fetch(`${url}/healthz`)).ok) {
          up = true;
          break;
        }
      } catch {
        // not yet listening
      }
    }
    if (up) {
      return {
        url,
        port,
        accessLog: async () => (await readFile(path.join(prefix, 'access.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
        close: async () => {
          if (proc.exitCode === null) {
            proc.kill('SIGTERM');
            await exited;
          }
          await rm(prefix, { recursive: true, force: true });
        },
      };
    }
    proc.kill('SIGKILL');
    await exited;
    if (attempt >= 2 || fixedPort !== undefined || !/Address already in use/.test(stderr)) throw new Error(`nginx did not start: ${stderr}`);
  }
}
