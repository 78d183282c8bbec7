/**
 * Held-out perplexity of a text model on webinfer's engine, per weights variant: the float32
 * safetensors as published, and the float16 / int8 / int4 variants the registry's quantizer
 * writes from it (registry/src/quantize-text.ts). The held-out text is the one the model's card
 * reports: for tiny-gpt, every 20th fortune of Debian's `fortunes` (models/tiny-gpt/train.py),
 * each followed by <|endoftext|>, cut into windows of 128 tokens (the training script's SEQ),
 * each window scored from an empty cache, exactly as train.py's `evaluate()`.
 *
 *   npx tsx scripts/eval-perplexity.ts [--model models/tiny-gpt] [--out bench/results/perplexity.json]
 *
 * Needs Debian's `fortunes` package (apt-get install -y fortunes). Not run in CI (a measurement).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { quantizeTextSafetensors } from '../registry/src/quantize-text.js';
import { Engine } from '../workers/engine/engine.js';
import { Gpt2Engine } from '../workers/engine/gpt2.js';
import { indexSafetensors } from '../workers/engine/tensors.js';
import { parseGpt2Config } from '../workers/gpt2/config.js';
import { TextTokenizer } from '../workers/text/tokenizer.js';
import { engineSources, nodeThreads } from '../test/unit/engine/helpers.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/tiny-gpt' },
    corpus: { type: 'string', default: '/usr/share/games/fortunes' },
    seq: { type: 'string', default: '128' },
    out: { type: 'string', default: 'bench/results/perplexity.json' },
    threads: { type: 'string', default: '2' },
  },
});
const dir = path.resolve(args.model);
const SEQ = Number(args.seq);

// The held-out documents, as train.py reads them.
const names = readdirSync(args.corpus)
  .filter((n) => !n.includes('.') && statSync(path.join(args.corpus, n)).isFile())
  .sort();
const docs: string[] = [];
for (const n of names) {
  const text = new TextDecoder('utf-8').decode(readFileSync(path.join(args.corpus, n)));
  for (const raw of text.split('\n%\n')) {
    const d = raw.replace(/^[\n%]+|[\n%]+$/g, '');
    if (d.trim()) docs.push(d);
  }
}
const held = docs.filter((_, i) => i % 20 === 0);
const tokenizer = TextTokenizer.fromFiles(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
const eot = tokenizer.encode('<|endoftext|>');
const ids: number[] = [];
for (const d of held) {
  for (const t of tokenizer.encode(d)) ids.push(t);
  for (const t of eot) ids.push(t);
}
const config = parseGpt2Config(readFileSync(path.join(dir, 'config.json'), 'utf8'));
const f32 = new Uint8Array(readFileSync(path.join(dir, 'model.safetensors')));

function logSoftmaxAt(logits: Float32Array, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if ((logits[i] as number) > max) max = logits[i] as number;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  return (logits[target] as number) - max - Math.log(sum);
}

async function perplexity(engine: Engine, weights: Uint8Array): Promise<{ loss: number; perplexity: number; tokens: number; weightBytes: number }> {
  const lm = await Gpt2Engine.load(engine, config, indexSafetensors(weights));
  let total = 0;
  let count = 0;
  const losses: number[] = [];
  for (let i = 0; i + SEQ + 1 < ids.length; i += SEQ) {
    const state = lm.newState(SEQ);
    let windowLoss = 0;
    for (let j = 0; j < SEQ; j++) {
      const logits = lm.forward(state, [ids[i + j] as number]);
      windowLoss -= logSoftmaxAt(logits, ids[i + j + 1] as number);
    }
    state.dispose();
    losses.push(windowLoss / SEQ);
    total += windowLoss;
    count += SEQ;
  }
  const weightBytes = lm.weightBytes;
  lm.dispose();
  // train.py averages the per-window mean losses.
  const loss = losses.reduce((a, b) => a + b, 0) / losses.length;
  void total;
  return { loss, perplexity: Math.exp(loss), tokens: count, weightBytes };
}

const engine = await Engine.start({ sources: engineSources(), threads: Number(args.threads), relaxed: false, spawn: nodeThreads });
const results: Record<string, { loss: number; perplexity: number; tokens: number; weightBytes: number; vsFloat32?: number }> = {};
for (const variant of ['float32', 'float16', 'int8', 'int4'] as const) {
  const t0 = performance.now();
  const weights = variant === 'float32' ? f32 : quantizeTextSafetensors(f32, variant);
  const r = await perplexity(engine, weights);
  results[variant] = r;
  console.log(`${variant}: held-out loss ${r.loss.toFixed(4)}, perplexity ${r.perplexity.toFixed(2)} over ${r.tokens} tokens, weights ${(r.weightBytes / 2 ** 20).toFixed(1)} MiB (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
engine.dispose();
const base = results['float32'];
if (base) for (const r of Object.values(results)) r.vsFloat32 = r.perplexity / base.perplexity - 1;
const report = { model: path.relative(process.cwd(), dir), corpus: args.corpus, heldOutDocs: held.length, seq: SEQ, date: new Date().toISOString(), results };
writeFileSync(path.resolve(args.out), JSON.stringify(report, null, 2) + '\n');
for (const [k, r] of Object.entries(results)) console.log(`${k}: perplexity ${r.perplexity.toFixed(2)} (${((r.vsFloat32 ?? 0) * 100).toFixed(2)} % vs float32)`);
process.exit(0);
