/**
 * 10. A real-size language model: `gpt2-124m` (GPT-2 small's shape: 12 layers × 768, 12 heads,
 * 1024 positions, 124 M parameters; seeded random weights, GPT-2's BPE — scripts/make-gpt2.ts),
 * webinfer (float32, int8, int4 weights, all on its WASM engine) against ONNX Runtime Web on the
 * ONNX export of the same float32 weights, greedy, in one page, paired round by round.
 *
 * Phase `speed` (params.extra.phase):
 * - decode: tokens/s over 64 greedy tokens after a 5-token prompt (ORT: its KV-cache loop);
 * - time to first token of that prompt;
 * - prefill: tokens/s of a 128-token and a 1023-token prompt (time to the first new token);
 * - greedy agreement: the first position where webinfer's and ORT's 64 tokens differ (-1 = none);
 * - the physical limit: WASM memory bandwidth (a streaming read with the same thread count) and,
 *   per weights variant, decode tokens/s × bytes read per token as a fraction of it.
 * Phases `memory.float32|int8|int4|ort`: one runtime in a fresh page, a 1023-token prefill and 8
 * new tokens; the runner reads the renderer's peak resident memory (VmHWM) around it, and the
 * page reports the engine's bytes at 128 and 1023 positions (flat: the cache is allocated once).
 */
import type * as Ort from 'onnxruntime-web';
import { createClient, type Dtype, type TextGenerator } from '../../../src/index.js';
import { TextTokenizer } from '../../../workers/text/tokenizer.js';
import { ortSession } from '../runners/ort.js';
import { ratio, summarize } from '../stats.js';
import type { BenchParams, Row, Workload } from '../types.js';
import { call } from '../workers/call.js';

interface Meta {
  layers: number;
  embd: number;
  heads: number;
  positions: number;
  vocab: number;
  parameters: number;
}

interface Timing {
  ttft: number;
  decodeTps: number;
  tokens: number[];
}

const DECODE_TOKENS = 64;
const gap = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

async function webinferRun(lm: TextGenerator, prompt: string, n: number): Promise<Timing> {
  const t0 = performance.now();
  let first = 0;
  let last = 0;
  const stream = lm.generate(prompt, { temperature: 0, maxTokens: n, stopAtEos: false, streamTokens: 8, streamMs: 0 });
  for await (const c of stream) {
    const now = performance.now();
    if (c.tokenId >= 0 && first === 0) first = now;
    last = now;
  }
  const r = await stream.result;
  if (r.tokens.length !== n) throw new Error(`webinfer generated ${r.tokens.length} tokens, expected ${n}`);
  return { ttft: first - t0, decodeTps: n > 1 ? ((n - 1) * 1000) / Math.max(1e-3, last - first) : 0, tokens: [...r.tokens] };
}

async function ortRun(ort: typeof Ort, session: Ort.InferenceSession, meta: Meta, ids: number[], n: number): Promise<Timing> {
  const hd = meta.embd / meta.heads;
  const t0 = performance.now();
  let past: Record<string, Ort.Tensor> = {};
  for (let l = 0; l < meta.layers; l++) {
    for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, meta.heads, 0, hd]);
  }
  let input = ids;
  const tokens: number[] = [];
  let first = 0;
  for (let i = 0; i < n; i++) {
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(input.map((x) => BigInt(x))), [1, input.length]), ...past });
    const logits = out['logits'] as Ort.Tensor;
    const data = logits.data as Float32Array;
    const V = logits.dims[2] as number;
    const off = ((logits.dims[1] as number) - 1) * V;
    let best = 0;
    for (let v = 1; v < V; v++) if ((data[off + v] as number) > (data[off + best] as number)) best = v;
    logits.dispose();
    for (const t of Object.values(past)) t.dispose();
    past = {};
    for (let l = 0; l < meta.layers; l++) {
      past[`past_key_values.${l}.key`] = out[`present.${l}.key`] as Ort.Tensor;
      past[`past_key_values.${l}.value`] = out[`present.${l}.value`] as Ort.Tensor;
    }
    tokens.push(best);
    if (i === 0) first = performance.now();
    input = [best];
  }
  const last = performance.now();
  for (const t of Object.values(past)) t.dispose();
  return { ttft: first - t0, decodeTps: n > 1 ? ((n - 1) * 1000) / (last - first) : 0, tokens };
}

/** A prompt of exactly `n` tokens (text that re-encodes to itself). */
function promptOf(tokenizer: TextTokenizer, n: number): { text: string; ids: number[] } {
  const words = 'the quick brown fox jumps over the lazy dog and then it runs far away into the woods where nobody can see it '.repeat(Math.ceil(n / 8) + 8);
  let ids = tokenizer.encode(words).slice(0, n);
  for (let i = 0; i < 4; i++) {
    const text = tokenizer.decode(ids, { keepSpecial: true });
    const again = tokenizer.encode(text);
    if (again.length === n) return { text, ids: again };
    ids = again.slice(0, n);
  }
  const text = tokenizer.decode(ids, { keepSpecial: true });
  return { text, ids: tokenizer.encode(text) };
}

async function bandwidth(threads: number, smoke: boolean): Promise<{ gbps: number[] }> {
  const worker = new Worker(new URL('../workers/bandwidth.worker.ts', import.meta.url), { type: 'module' });
  try {
    return await call<{ gbps: number[] }>(worker, { threads, mib: smoke ? 32 : 256, reps: smoke ? 2 : 9 });
  } finally {
    worker.terminate();
  }
}

async function speed(p: BenchParams, id: string, meta: Meta, tokenizer: TextTokenizer): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const client = createClient({ registry: p.registry, wasmThreads: p.threads, backend: 'wasm' });
  const variants: Dtype[] = ['float32', 'int8', 'int4'];
  const lms = new Map<Dtype, TextGenerator>();
  for (const dtype of variants) lms.set(dtype, await client.load(id, { task: 'text-generation', dtype }));
  const { ort, session } = await ortSession(p.ort, p.threads, `${p.files}/fixtures/${id}/model.onnx`);
  try {
    const short = promptOf(tokenizer, 5);
    const n = p.smoke ? 8 : DECODE_TOKENS;
    // Warm-up.
    for (const lm of lms.values()) await webinferRun(lm, short.text, 4);
    await ortRun(ort, session, meta, short.ids, 4);
    const rounds = p.smoke ? 1 : 5;
    const runs = new Map<string, Timing[]>([...variants, 'ort'].map((k) => [k, []]));
    const order = [...variants, 'ort'];
    for (let r = 0; r < rounds; r++) {
      const rot = order.map((_, i) => order[(i + r) % order.length] as string);
      for (const k of rot) {
        const t = k === 'ort' ? await ortRun(ort, session, meta, short.ids, n) : await webinferRun(lms.get(k as Dtype) as TextGenerator, short.text, n);
        runs.get(k)?.push(t);
        await gap();
      }
    }
    const ortRuns = runs.get('ort') as Timing[];
    const so = summarize(ortRuns.map((x) => x.decodeTps));
    rows.push({ id: 'gpt2.ort.decode', label: `decode, ${n} greedy tokens: ONNX Runtime (float32)`, unit: 'tokens/s', median: so.median, p95: so.min, n: so.n });
    for (const dtype of variants) {
      const w = runs.get(dtype) as Timing[];
      const s = summarize(w.map((x) => x.decodeTps));
      rows.push({ id: `gpt2.webinfer.${dtype}.decode`, label: `decode, ${n} greedy tokens: webinfer ${dtype}`, unit: 'tokens/s', median: s.median, p95: s.min, n: s.n });
      rows.push({ id: `gpt2.${dtype}.decode.vs-ort`, label: `decode: webinfer ${dtype} tokens/s / ONNX Runtime float32 tokens/s (paired)`, unit: '×', median: ratio(ortRuns.map((x) => 1 / x.decodeTps), w.map((x) => 1 / x.decodeTps)) });
      const diff = (w[0] as Timing).tokens.findIndex((t, k) => t !== (ortRuns[0] as Timing).tokens[k]);
      rows.push({ id: `gpt2.${dtype}.greedy-agreement`, label: `greedy ${n} tokens: first position webinfer ${dtype} differs from ONNX Runtime float32 (-1 = identical)`, unit: 'position', median: diff });
    }
    const tw = summarize((runs.get('float32') as Timing[]).map((x) => x.ttft));
    const to = summarize(ortRuns.map((x) => x.ttft));
    rows.push({ id: 'gpt2.webinfer.ttft', label: `time to first token, ${short.ids.length}-token prompt: webinfer float32 (incl. worker round trip)`, unit: 'ms', median: tw.median, p95: tw.p95, n: tw.n });
    rows.push({ id: 'gpt2.ort.ttft', label: `time to first token, ${short.ids.length}-token prompt: ONNX Runtime`, unit: 'ms', median: to.median, p95: to.p95, n: to.n });
    rows.push({ id: 'gpt2.ttft.vs-ort', label: 'time to first token, ONNX Runtime time / webinfer time', unit: '×', median: ratio(ortRuns.map((x) => x.ttft), (runs.get('float32') as Timing[]).map((x) => x.ttft)) });

    // Prefill at 128 and 1023 tokens (1024 positions minus the new token).
    for (const len of p.smoke ? [16] : [128, meta.positions - 1]) {
      const prompt = promptOf(tokenizer, len);
      const reps = p.smoke ? 1 : len > 128 ? 2 : 3;
      const pr = new Map<string, number[]>([...variants, 'ort'].map((k) => [k, []]));
      for (let r = 0; r < reps; r++) {
        for (const k of order) {
          const t = k === 'ort' ? await ortRun(ort, session, meta, prompt.ids, 1) : await webinferRun(lms.get(k as Dtype) as TextGenerator, prompt.text, 1);
          pr.get(k)?.push(t.ttft);
          await gap();
        }
      }
      const label = len > 128 ? '1024' : String(len);
      const po = pr.get('ort') as number[];
      const sov = summarize(po.map((ms) => (prompt.ids.length * 1000) / ms));
      rows.push({ id: `gpt2.ort.prefill.${label}`, label: `prefill, ${prompt.ids.length}-token prompt: ONNX Runtime`, unit: 'tokens/s', median: sov.median, p95: sov.min, n: sov.n });
      for (const dtype of variants) {
        const pw = pr.get(dtype) as number[];
        const s = summarize(pw.map((ms) => (prompt.ids.length * 1000) / ms));
        rows.push({ id: `gpt2.webinfer.${dtype}.prefill.${label}`, label: `prefill, ${prompt.ids.length}-token prompt: webinfer ${dtype}`, unit: 'tokens/s', median: s.median, p95: s.min, n: s.n });
        rows.push({ id: `gpt2.${dtype}.prefill.${label}.vs-ort`, label: `prefill ${label}: ONNX Runtime time / webinfer ${dtype} time`, unit: '×', median: ratio(po, pw) });
      }
    }

    // The physical limit.
    const bw = summarize((await bandwidth(p.threads, p.smoke)).gbps);
    rows.push({ id: 'gpt2.bandwidth', label: `WASM memory bandwidth, streaming read, ${p.threads} thread(s)`, unit: 'GB/s', median: bw.median, p95: bw.min, n: bw.n });
    const mem = await client.memory();
    for (const dtype of variants) {
      const info = (lms.get(dtype) as TextGenerator).info;
      const tps = summarize((runs.get(dtype) as Timing[]).map((x) => x.decodeTps)).median;
      // Bytes read per token: the weights as held (engine bytes of the model), once per token.
      const weightBytes = info.weightBytes ?? 0;
      rows.push({ id: `gpt2.${dtype}.weight-bytes`, label: `weights held by the engine: ${dtype}`, unit: 'bytes', median: weightBytes });
      rows.push({ id: `gpt2.${dtype}.bandwidth-fraction`, label: `decode ${dtype}: tokens/s × weight bytes / bandwidth`, unit: '×', median: (tps * weightBytes) / (bw.median * 1e9) });
    }
    rows.push({ id: 'gpt2.engine-bytes', label: 'engine bytes in use with the three variants loaded', unit: 'bytes', median: mem.engineBytes });
  } finally {
    await session.release();
    await client.dispose();
  }
  notes.push(
    'ONNX Runtime runs the ONNX export of the float32 weights (scripts/make-gpt2.ts) on the page\'s main thread with the same thread count; its `logits` output holds the last position only, so its prefill does not pay for the full output head.',
    'webinfer is timed from the page (its worker round trips included). int8 and int4 keep their weights quantized in the engine\'s memory; their ratios are against ONNX Runtime float32.',
    'Random weights give narrow logits: greedy tokens can diverge on a near tie after a few positions even between two correct float32 implementations; the agreement rows say where.',
  );
  return { rows, notes };
}

async function memoryPhase(p: BenchParams, id: string, meta: Meta, tokenizer: TextTokenizer, runtime: string): Promise<Row[]> {
  const rows: Row[] = [];
  if (runtime === 'baseline') {
    // What the page costs before any model: webinfer's worker with its backend started (and ORT's script loaded).
    const client = createClient({ registry: p.registry, wasmThreads: p.threads, backend: 'wasm' });
    await client.ready();
    await client.dispose();
    rows.push({ id: 'gpt2.memory.baseline.done', label: 'baseline: backend started, no model', unit: 'models', median: 0 });
    return rows;
  }
  const long = promptOf(tokenizer, p.smoke ? 32 : meta.positions - 9);
  const short = promptOf(tokenizer, p.smoke ? 8 : 128);
  if (runtime === 'ort') {
    const { ort, session } = await ortSession(p.ort, p.threads, `${p.files}/fixtures/${id}/model.onnx`);
    await ortRun(ort, session, meta, long.ids, 8);
    await session.release();
    rows.push({ id: 'gpt2.memory.ort.done', label: `ONNX Runtime: ${long.ids.length}-token prefill + 8 tokens done`, unit: 'tokens', median: long.ids.length + 8 });
    return rows;
  }
  const client = createClient({ registry: p.registry, wasmThreads: p.threads, backend: 'wasm' });
  const lm = await client.load(id, { task: 'text-generation', dtype: runtime as Dtype });
  await lm.generateText(short.text, { temperature: 0, maxTokens: 8, stopAtEos: false });
  const atShort = await client.memory();
  await lm.generateText(long.text, { temperature: 0, maxTokens: 8, stopAtEos: false });
  const atLong = await client.memory();
  const weights = lm.info.weightBytes ?? 0;
  await lm.dispose();
  const afterDispose = await client.memory();
  // The next model reuses the freed memory: the heap does not grow.
  const again = await client.load(id, { task: 'text-generation', dtype: runtime as Dtype });
  const reload = await client.memory();
  await again.dispose();
  await client.dispose();
  rows.push({ id: `gpt2.memory.${runtime}.weights`, label: `${runtime}: weights as held by the engine`, unit: 'bytes', median: weights });
  rows.push({ id: `gpt2.memory.${runtime}.heap.short`, label: `${runtime}: engine heap after a ${short.ids.length}-token generation`, unit: 'bytes', median: atShort.engineHeapBytes });
  rows.push({ id: `gpt2.memory.${runtime}.heap.long`, label: `${runtime}: engine heap after a ${long.ids.length}-token prompt`, unit: 'bytes', median: atLong.engineHeapBytes });
  rows.push({ id: `gpt2.memory.${runtime}.after-dispose`, label: `${runtime}: engine bytes in use after dispose()`, unit: 'bytes', median: afterDispose.engineBytes });
  rows.push({ id: `gpt2.memory.${runtime}.heap.reload`, label: `${runtime}: engine heap after loading the model again (reused, not grown)`, unit: 'bytes', median: reload.engineHeapBytes });
  return rows;
}

export const gpt2: Workload = async (p) => {
  const id = String(p.extra?.['model'] ?? 'gpt2-124m');
  const phase = String(p.extra?.['phase'] ?? 'speed');
  const meta = (await (await fetch(`${p.files}/fixtures/${id}/meta.json`)).json()) as Meta;
  const tokenizer = TextTokenizer.fromFiles(await (await fetch(`${p.files}/fixtures/${id}/hf/tokenizer.json`)).text());
  if (phase === 'speed') {
    const { rows, notes } = await speed(p, id, meta, tokenizer);
    return { title: `A real-size language model: ${id} (${(meta.parameters / 1e6).toFixed(1)} M parameters), webinfer vs ONNX Runtime Web`, rows, notes, facts: { ...meta } };
  }
  const runtime = phase.replace(/^memory\./, '');
  return { title: `${id} memory: ${runtime}`, rows: await memoryPhase(p, id, meta, tokenizer, runtime) };
};
