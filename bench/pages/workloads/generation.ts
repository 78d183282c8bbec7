/**
 * 6. Generation on tiny-gpt (4 layers × 256, vocabulary 2,048, context 256), greedy, exactly N new
 * tokens (end-of-text does not stop it):
 * - webinfer with its KV cache, webinfer with `useCache: false`, and ONNX Runtime Web on the ONNX
 *   export of the same weights (`models/tiny-gpt/model.onnx`, with past key/values), driven by
 *   the same tokenizer and the same greedy loop on the page's main thread;
 * - time to first token, decode tokens/s = (N − 1) / (time of the last token − time of the first),
 *   at N = 32, 128 and the longest the context allows (256 − prompt; reported as "256");
 * - prefill tokens/s on a 128-token prompt (prompt tokens / time to the first token).
 * webinfer's figures are measured on the main thread from its streamed chunks, so they include the
 * worker round trips. Paired rounds (webinfer with cache and ORT alternate; the slow no-cache runs
 * are fewer).
 */
import type * as Ort from 'onnxruntime-web';
import { createClient, type TextGenerator } from '../../../src/index.js';
import { TextTokenizer } from '../../../workers/text/tokenizer.js';
import { ortSession } from '../runners/ort.js';
import { ratio, summarize } from '../stats.js';
import type { BenchParams, Row, Workload } from '../types.js';

const PROMPT = 'Once upon a time';
const LONG_PROMPT_TOKENS = 128;
const LAYERS = 4;
const HEADS = 4;
const HEAD_DIM = 64;

interface Timing {
  ttft: number;
  decodeTps: number;
  tokens: number[];
}

async function webinferRun(lm: TextGenerator, prompt: string, n: number, useCache: boolean): Promise<Timing> {
  const t0 = performance.now();
  let first = 0;
  let last = 0;
  const stream = lm.generate(prompt, { temperature: 0, maxTokens: n, stopAtEos: false, useCache, streamTokens: 8, streamMs: 0 });
  for await (const c of stream) {
    const now = performance.now();
    if (c.tokenId >= 0 && first === 0) first = now;
    last = now;
  }
  const r = await stream.result;
  if (r.tokens.length !== n) throw new Error(`webinfer generated ${r.tokens.length} tokens, expected ${n}`);
  return { ttft: first - t0, decodeTps: n > 1 ? ((n - 1) * 1000) / Math.max(1e-3, last - first) : 0, tokens: [...r.tokens] };
}

/** ORT greedy loop: prefill with empty past, then one token per step with past key/values. */
async function ortRun(ort: typeof Ort, session: Ort.InferenceSession, ids: number[], n: number): Promise<Timing> {
  const t0 = performance.now();
  let past: Record<string, Ort.Tensor> = {};
  for (let l = 0; l < LAYERS; l++) {
    for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, HEADS, 0, HEAD_DIM]);
  }
  let input = ids;
  const tokens: number[] = [];
  let first = 0;
  for (let i = 0; i < n; i++) {
    const feeds: Record<string, Ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(input.map((x) => BigInt(x))), [1, input.length]), ...past };
    const out = await session.run(feeds);
    const logits = out['logits'] as Ort.Tensor;
    const data = logits.data as Float32Array;
    const V = logits.dims[2] as number;
    const off = (input.length - 1) * V;
    let best = 0;
    for (let v = 1; v < V; v++) if ((data[off + v] as number) > (data[off + best] as number)) best = v;
    logits.dispose();
    for (const t of Object.values(past)) t.dispose();
    past = {};
    for (let l = 0; l < LAYERS; l++) {
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

export const generation: Workload = async (p: BenchParams) => {
  const client = createClient({ registry: p.registry, wasmThreads: p.threads });
  const lm = await client.load('tiny-gpt', { task: 'text-generation' });
  const tokenizer = TextTokenizer.fromFiles(await (await fetch(`${p.files}/models/tiny-gpt/tokenizer.json`)).text());
  const { ort, session } = await ortSession(p.ort, p.threads, `${p.files}/models/tiny-gpt/model.onnx`);
  const rows: Row[] = [];
  const notes: string[] = [];
  const gap = () => new Promise((r) => setTimeout(r, 20));
  try {
    const promptIds = tokenizer.encode(PROMPT);
    const maxN = 256 - promptIds.length;
    const lengths = p.smoke ? [8] : [32, 128, maxN];
    // Warm-up (kernels, caches).
    await webinferRun(lm, PROMPT, 8, true);
    await webinferRun(lm, PROMPT, 4, false);
    await ortRun(ort, session, promptIds, 8);
    for (const n of lengths) {
      const label = n === maxN ? '256' : String(n);
      const runs = p.smoke ? 1 : n > 128 ? 3 : 5;
      const withCache: Timing[] = [];
      const onnx: Timing[] = [];
      for (let i = 0; i < runs; i++) {
        // Rotate the order each round.
        if (i % 2 === 0) {
          withCache.push(await webinferRun(lm, PROMPT, n, true));
          await gap();
          onnx.push(await ortRun(ort, session, promptIds, n));
        } else {
          onnx.push(await ortRun(ort, session, promptIds, n));
          await gap();
          withCache.push(await webinferRun(lm, PROMPT, n, true));
        }
        await gap();
      }
      const noCache: Timing[] = [];
      for (let i = 0; i < (p.smoke ? 1 : 2); i++) noCache.push(await webinferRun(lm, PROMPT, n, false));
      // Greedy sanity: the same weights must give the same first tokens (ties may diverge later).
      const same = (withCache[0] as Timing).tokens.findIndex((t, k) => t !== (onnx[0] as Timing).tokens[k]);
      if (same !== -1) notes.push(`N=${label}: webinfer and ONNX Runtime greedy tokens first differ at position ${same}`);
      if (noCache[0]!.tokens.join() !== withCache[0]!.tokens.join()) throw new Error(`N=${label}: useCache:false gave other tokens than the KV cache`);
      const tps = (xs: Timing[]) => summarize(xs.map((x) => x.decodeTps));
      const ttft = (xs: Timing[]) => summarize(xs.map((x) => x.ttft));
      const a = tps(withCache);
      const b = tps(noCache);
      const c = tps(onnx);
      rows.push({ id: `generation.webinfer.decode.${label}`, label: `N=${label}: webinfer decode (KV cache)`, unit: 'tokens/s', median: a.median, p95: a.min, n: a.n });
      rows.push({ id: `generation.webinfer-nocache.decode.${label}`, label: `N=${label}: webinfer decode, useCache: false`, unit: 'tokens/s', median: b.median, p95: b.min, n: b.n });
      rows.push({ id: `generation.ort.decode.${label}`, label: `N=${label}: ONNX Runtime decode (KV cache)`, unit: 'tokens/s', median: c.median, p95: c.min, n: c.n });
      rows.push({ id: `generation.kv-speedup.${label}`, label: `N=${label}: KV cache speed-up (decode tokens/s, cache / no cache)`, unit: '×', median: a.median / b.median });
      // ORT time / webinfer time = webinfer tokens/s / ORT tokens/s, per paired round.
      rows.push({ id: `generation.decode.${label}.vs-ort`, label: `N=${label}: decode, ONNX Runtime time / webinfer time`, unit: '×', median: ratio(onnx.map((x) => 1 / x.decodeTps), withCache.map((x) => 1 / x.decodeTps)) });
      const ta = ttft(withCache);
      const tc = ttft(onnx);
      rows.push({ id: `generation.webinfer.ttft.${label}`, label: `N=${label}: webinfer time to first token (${promptIds.length}-token prompt)`, unit: 'ms', median: ta.median, p95: ta.p95, n: ta.n });
      rows.push({ id: `generation.ort.ttft.${label}`, label: `N=${label}: ONNX Runtime time to first token`, unit: 'ms', median: tc.median, p95: tc.p95, n: tc.n });
    }
    // Prefill: a 128-token prompt, one new token.
    const words = 'the quick brown fox jumps over the lazy dog and then '.repeat(40);
    let longIds = tokenizer.encode(words).slice(0, LONG_PROMPT_TOKENS);
    const longPrompt = tokenizer.decode(longIds, { keepSpecial: true });
    longIds = tokenizer.encode(longPrompt);
    const pw: number[] = [];
    const po: number[] = [];
    for (let i = 0; i < (p.smoke ? 1 : 7); i++) {
      pw.push((await webinferRun(lm, longPrompt, 1, true)).ttft);
      await gap();
      po.push((await ortRun(ort, session, longIds, 1)).ttft);
      await gap();
    }
    const sw = summarize(pw.map((ms) => (longIds.length * 1000) / ms));
    const so = summarize(po.map((ms) => (longIds.length * 1000) / ms));
    rows.push({ id: 'generation.webinfer.prefill', label: `prefill, ${longIds.length}-token prompt: webinfer (incl. worker round trip)`, unit: 'tokens/s', median: sw.median, p95: sw.min, n: sw.n });
    rows.push({ id: 'generation.ort.prefill', label: `prefill, ${longIds.length}-token prompt: ONNX Runtime`, unit: 'tokens/s', median: so.median, p95: so.min, n: so.n });
    rows.push({ id: 'generation.prefill.vs-ort', label: 'prefill, ONNX Runtime time / webinfer time', unit: '×', median: ratio(po, pw) });
  } finally {
    await session.release();
    await client.dispose();
  }
  return {
    title: 'Generation: tiny-gpt, greedy — webinfer (KV cache / no cache) vs ONNX Runtime Web',
    rows,
    notes: [
      ...notes,
      'For tokens/s rows the "p95" column holds the slowest run (minimum tokens/s). The longest length is 256 − prompt tokens (the model\'s context is 256).',
      'ONNX Runtime runs on the page\'s main thread with the same thread count; webinfer runs in its worker and is timed from the page.',
    ],
  };
};
