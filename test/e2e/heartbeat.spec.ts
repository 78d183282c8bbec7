/**
 * Long work never looks like a crash. On a busy machine (two CPU-bound processes beside the
 * browser on this 2-core machine, and the page's CPU throttled through CDP), with a client that
 * declares its worker crashed after a short silence (a third of the unloaded call's time, 1–2 s), a
 * model load and one call of a 895-token prefill plus 128 decoded tokens still succeed: the worker
 * yields between chunks of work and keeps answering heartbeats. Before it did, the whole prefill ran
 * as one block. (The prefill alone got too fast on the engine to outlast the 1 s floor: 581 ms.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { expect, registryUrl, test } from './fixtures.js';

// GPT-2's BPE: 'the' is one token and every ' the' one more: 895 prompt tokens; with 128 new ones, the whole context.
const PROMPT = 'the' + ' the'.repeat(894);
const NEW_TOKENS = 128;

test('heartbeats answer during a load and a long generation (895-token prefill, 128 new tokens) on a busy, throttled machine', async ({ open, registry }) => {
  test.setTimeout(300_000);
  const page = await open();
  const run = (unresponsiveTimeoutMs: number) =>
    page.evaluate(
      async ({ registry, unresponsiveTimeoutMs, prompt, maxTokens }) => {
        const client = window.webinfer.createClient({ registry, backend: 'wasm', unresponsiveTimeoutMs, cacheName: `hb-${Math.random()}` });
        const t0 = performance.now();
        const lm = await window.util.attempt(() => client.load('gpt2-long', { task: 'text-generation' }));
        const loadMs = performance.now() - t0;
        if (!lm.ok) {
          await client.dispose();
          return { load: lm, loadMs, prefillMs: 0, res: undefined };
        }
        const t1 = performance.now();
        const res = await window.util.attempt(() => lm.value.generateText(prompt, { temperature: 0, maxTokens, stopAtEos: false }));
        const prefillMs = performance.now() - t1;
        await client.dispose();
        return { load: { ok: true }, loadMs, prefillMs, res };
      },
      { registry: registryUrl(registry), unresponsiveTimeoutMs, prompt: PROMPT, maxTokens: NEW_TOKENS },
    );
  const quiet = await run(30_000);
  expect(quiet.res, JSON.stringify(quiet.res)).toMatchObject({ ok: true, value: { promptTokens: 895 } });
  // A third of the unloaded call: the loaded one lasts longer still, so only yields keep the worker alive.
  // Floor 1 s: on a busy CI machine the 8-layer load was once silent for more than 513 ms (see the note of 2026-12-02).
  const limit = Math.round(Math.min(2000, Math.max(1000, quiet.prefillMs / 3)));
  const hogs: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const busy = await run(limit);
    console.log(`gpt2-long: quiet load ${quiet.loadMs.toFixed(0)} ms, call ${quiet.prefillMs.toFixed(0)} ms; busy: load ${busy.loadMs.toFixed(0)} ms, call ${busy.prefillMs.toFixed(0)} ms, crash limit ${limit} ms`);
    expect(busy.load, JSON.stringify(busy.load)).toMatchObject({ ok: true });
    expect(busy.res, JSON.stringify(busy.res)).toMatchObject({ ok: true, value: { promptTokens: 895 } });
    // The call outlasted the crash limit: only the worker's yields kept it alive.
    expect(busy.prefillMs).toBeGreaterThan(limit);
  } finally {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 }).catch(() => undefined);
    hogs.forEach((h) => h.kill('SIGKILL'));
  }
});
