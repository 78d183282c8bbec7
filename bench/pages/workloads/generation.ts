/**
 * 6. Generation on tiny-gpt (GPT-2: 4 layers × 256, vocabulary 2,048, context 256) and llama-fortunes
 * (Llama: 4 layers × 192, grouped-query attention, vocabulary 1,024, context 128), greedy, exactly N new
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

/** A text model of the workload and the shape of its ONNX export's past key/values. */
interface Spec {
  readonly id: string;
  /** Row id prefix: `generation` for tiny-gpt (ids kept from before), `generation.llama` for the Llama. */
  readonly prefix: string;
  readonly layers: number;
  /** Key/value heads (grouped-query attention: fewer than the query heads). */
  readonly kvHeads: number;
  readonly headDim: number;
  readonly context: number;
  /** The export takes `position_ids` (rotary positions); GPT-2's derives them. */
  readonly positions: boolean;
}

const SPECS: readonly Spec[] = [
  { id: 'tiny-gpt', prefix: 'generation', layers: 4, kvHeads: 4, headDim: 64, context: 256, positions: false },
  { id: 'llama-fortunes', prefix: 'generation.llama', layers: 4, kvHeads: 2, headDim: 32, context: 128, positions: true },
];

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
async function ortRun(ort: typeof Ort, session: Ort.InferenceSession, spec: Spec, ids: number[], n: number): Promise<Timing> {
  const t0 = performance.now();
  let past: Record<string, Ort.Tensor> = {};
  for (let l = 0; l < spec.layers; l++) {
    for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, spec.kvHeads, 0, spec.headDim]);
  }
  let input = ids;
  let at = 0;
  const tokens: number[] = [];
  let first = 0;
  for (let i = 0; i < n; i++) {
    const feeds: Record<string, Ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(input.map((x) => BigInt(x))), [1, input.length]), ...past };
    if (spec.positions) feeds['position_ids'] = new ort.Tensor('int64', BigInt64Array.from(input.map((_, k) => BigInt(at + k))), [1, input.length]);
    at += input.length;
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
    for (let l = 0; l < spec.layers; l++) {
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

async function hasFile(url: string): Promise<boolean> {
  const r = await fetch(url, { method: 'HEAD' }).catch(() => undefined);
  return r?.ok === true;
}

async function measure(p: BenchParams, spec: Spec, rows: Row[], notes: string[]): Promise<void> {
  const client = createClient({ registry: p.registry, wasmThreads: p.threads });
  const lm = await client.load(spec.id, { task: 'text-generation' });
  const tokenizer = TextTokenizer.fromFiles(await (await fetch(`${p.files}/models/${spec.id}/tokenizer.json`)).text());
  const onnxUrl = `${p.files}/models/${spec.id}/model.onnx`;
  const o = (await hasFile(onnxUrl)) ? await ortSession(p.ort, p.threads, onnxUrl) : undefined;
  if (!o) notes.push(`${spec.id}: no ONNX export (models/${spec.id}/model.onnx), webinfer figures only`);
  const gap = () => new Promise((r) => setTimeout(r, 20));
  const P = spec.prefix;
  const who = spec.id;
  try {
    // The ids webinfer's worker will use for the prompt (the handle's tokenizer: bos added where the model adds it).
    const promptIds = await lm.tokenize(PROMPT);
    const maxN = spec.context - promptIds.length;
    const lengths = p.smoke ? [8] : [...new Set([32, 128, maxN].filter((n) => n <= maxN))];
    // Warm-up (kernels, caches).
    await webinferRun(lm, PROMPT, 8, true);
    await webinferRun(lm, PROMPT, 4, false);
    if (o) await ortRun(o.ort, o.session, spec, promptIds, 8);
    for (const n of lengths) {
      const label = n === maxN ? String(spec.context) : String(n);
      const runs = p.smoke ? 1 : n > 128 ? 3 : 5;
      const withCache: Timing[] = [];
      const onnx: Timing[] = [];
      for (let i = 0; i < runs; i++) {
        // Rotate the order each round.
        if (i % 2 === 0 || !o) {
          withCache.push(await webinferRun(lm, PROMPT, n, true));
          await gap();
          if (o) onnx.push(await ortRun(o.ort, o.session, spec, promptIds, n));
        } else {
          onnx.push(await ortRun(o.ort, o.session, spec, promptIds, n));
          await gap();
          withCache.push(await webinferRun(lm, PROMPT, n, true));
        }
        await gap();
      }
      const noCache: Timing[] = [];
      for (let i = 0; i < (p.smoke ? 1 : 2); i++) noCache.push(await webinferRun(lm, PROMPT, n, false));
      if (noCache[0]!.tokens.join() !== withCache[0]!.tokens.join()) throw new Error(`${who} N=${label}: useCache:false gave other tokens than the KV cache`);
      const tps = (xs: Timing[]) => summarize(xs.map((x) => x.decodeTps));
      const ttft = (xs: Timing[]) => summarize(xs.map((x) => x.ttft));
      const a = tps(withCache);
      const b = tps(noCache);
      rows.push({ id: `${P}.webinfer.decode.${label}`, label: `${who} N=${label}: webinfer decode (KV cache)`, unit: 'tokens/s', median: a.median, p95: a.min, n: a.n });
      rows.push({ id: `${P}.webinfer-nocache.decode.${label}`, label: `${who} N=${label}: webinfer decode, useCache: false`, unit: 'tokens/s', median: b.median, p95: b.min, n: b.n });
      rows.push({ id: `${P}.kv-speedup.${label}`, label: `${who} N=${label}: KV cache speed-up (decode tokens/s, cache / no cache)`, unit: '×', median: a.median / b.median });
      const ta = ttft(withCache);
      rows.push({ id: `${P}.webinfer.ttft.${label}`, label: `${who} N=${label}: webinfer time to first token (${promptIds.length}-token prompt)`, unit: 'ms', median: ta.median, p95: ta.p95, n: ta.n });
      if (o) {
        // Greedy sanity: the same weights must give the same first tokens (ties may diverge later).
        const same = (withCache[0] as Timing).tokens.findIndex((t, k) => t !== (onnx[0] as Timing).tokens[k]);
        if (same !== -1) notes.push(`${who} N=${label}: webinfer and ONNX Runtime greedy tokens first differ at position ${same}`);
        const c = tps(onnx);
        rows.push({ id: `${P}.ort.decode.${label}`, label: `${who} N=${label}: ONNX Runtime decode (KV cache)`, unit: 'tokens/s', median: c.median, p95: c.min, n: c.n });
        // ORT time / webinfer time = webinfer tokens/s / ORT tokens/s, per paired round.
        rows.push({ id: `${P}.decode.${label}.vs-ort`, label: `${who} N=${label}: decode, ONNX Runtime time / webinfer time`, unit: '×', median: ratio(onnx.map((x) => 1 / x.decodeTps), withCache.map((x) => 1 / x.decodeTps)) });
        const tc = ttft(onnx);
        rows.push({ id: `${P}.ort.ttft.${label}`, label: `${who} N=${label}: ONNX Runtime time to first token`, unit: 'ms', median: tc.median, p95: tc.p95, n: tc.n });
      }
    }
    // Prefill: a 128-token prompt (context − 1 for a 128-token context), one new token.
    const words = 'the quick brown fox jumps over the lazy dog and then '.repeat(60);
    // At most LONG_PROMPT_TOKENS, and room for the one new token within the context (the handle may add bos).
    const all = tokenizer.encode(words);
    let take = Math.min(LONG_PROMPT_TOKENS, spec.context - 1);
    let longPrompt = tokenizer.decode(all.slice(0, take));
    let longIds = await lm.tokenize(longPrompt);
    while (longIds.length > spec.context - 1) {
      take -= longIds.length - (spec.context - 1);
      longPrompt = tokenizer.decode(all.slice(0, take));
      longIds = await lm.tokenize(longPrompt);
    }
    const pw: number[] = [];
    const po: number[] = [];
    for (let i = 0; i < (p.smoke ? 1 : 7); i++) {
      pw.push((await webinferRun(lm, longPrompt, 1, true)).ttft);
      await gap();
      if (o) po.push((await ortRun(o.ort, o.session, spec, longIds, 1)).ttft);
      await gap();
    }
    const sw = summarize(pw.map((ms) => (longIds.length * 1000) / ms));
    rows.push({ id: `${P}.webinfer.prefill`, label: `${who} prefill, ${longIds.length}-token prompt: webinfer (incl. worker round trip)`, unit: 'tokens/s', median: sw.median, p95: sw.min, n: sw.n });
    if (o) {
      const so = summarize(po.map((ms) => (longIds.length * 1000) / ms));
      rows.push({ id: `${P}.ort.prefill`, label: `${who} prefill, ${longIds.length}-token prompt: ONNX Runtime`, unit: 'tokens/s', median: so.median, p95: so.min, n: so.n });
      rows.push({ id: `${P}.prefill.vs-ort`, label: `${who} prefill, ONNX Runtime time / webinfer time`, unit: '×', median: ratio(po, pw) });
    }
    notes.push(`${who}: ${lm.info.runtime}`);
  } finally {
    await o?.session.release();
    await client.dispose();
  }
}

export const generation: Workload = async (p: BenchParams) => {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const spec of SPECS) await measure(p, spec, rows, notes);
  return {
    title: 'Generation: tiny-gpt (GPT-2) and llama-fortunes (Llama), greedy — webinfer (KV cache / no cache) vs ONNX Runtime Web',
    rows,
    notes: [
      ...notes,
      'For tokens/s rows the "p95" column holds the slowest run (minimum tokens/s). The longest length is the context (256 for tiny-gpt, 128 for llama-fortunes) − prompt tokens.',
      'ONNX Runtime runs on the page\'s main thread with the same thread count; webinfer runs in its worker and is timed from the page.',
    ],
  };
};
