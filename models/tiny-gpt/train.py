#!/usr/bin/python3
"""
Trains models/tiny-gpt: a small GPT-2 and its byte-level BPE tokenizer on the
`fortunes` corpus from Debian (BSD licence), and writes it in the Hugging Face
GPT-2 layout that webinfer imports (format `gpt2-safetensors`):

  config.json, tokenizer.json, model.safetensors   (the model)
  parity.json                                       (PyTorch reference vectors for the tests)
  card.json, metrics in card.json                   (registry card)
  model.onnx                                        (with past key/values, for benchmarks; optional)

Needs Debian's python3 with python3-torch, libopenblas0-pthread, python3-regex, fortunes.
No Hugging Face library is used: BPE training and the safetensors writer are here.

  npm run train:tiny-gpt        (= /usr/bin/python3 models/tiny-gpt/train.py)
"""
import json, math, os, struct, sys, time
from collections import Counter, defaultdict

import regex
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = '/usr/share/games/fortunes'
VOCAB = int(os.environ.get('TINY_GPT_VOCAB', 2048))
N_LAYER, N_HEAD, N_EMBD, N_POS = 4, 4, 256, 256
STEPS = int(os.environ.get("TINY_GPT_STEPS", 400))
BATCH, SEQ = int(os.environ.get("TINY_GPT_BATCH", 8)), 128
SEED = 1234
EOT = '<|endoftext|>'
GPT2_PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

torch.manual_seed(SEED)
torch.set_num_threads(2)


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def read_corpus():
    docs = []
    names = sorted(n for n in os.listdir(CORPUS_DIR) if '.' not in n and os.path.isfile(os.path.join(CORPUS_DIR, n)))
    for n in names:
        with open(os.path.join(CORPUS_DIR, n), encoding='utf-8', errors='replace') as f:
            text = f.read()
        for d in text.split('\n%\n'):
            d = d.strip('\n%')
            if d.strip():
                docs.append(d)
    return names, docs


# ---------------------------------------------------------------- BPE training
def train_bpe(docs, vocab_size):
    words = Counter()
    for d in docs:
        for w in GPT2_PAT.findall(d):
            words[''.join(B2U[b] for b in w.encode('utf-8'))] += 1
    word_list = list(words.items())
    seqs = [list(w) for w, _ in word_list]
    freqs = [c for _, c in word_list]
    pairs = Counter()
    where = defaultdict(set)
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    vocab = [B2U[b] for b in range(256)]
    merges = []
    n_merges = vocab_size - 256 - 1  # one id for <|endoftext|>
    while len(merges) < n_merges and pairs:
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        a, b = best
        merged = a + b
        merges.append(best)
        vocab.append(merged)
        for i in list(where[best]):
            s = seqs[i]
            f = freqs[i]
            for x, y in zip(s, s[1:]):
                pairs[(x, y)] -= f
                if pairs[(x, y)] <= 0:
                    del pairs[(x, y)]
            out = []
            j = 0
            while j < len(s):
                if j < len(s) - 1 and s[j] == a and s[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += f
                where[(x, y)].add(i)
        where.pop(best, None)
        pairs.pop(best, None)
    vocab.append(EOT)
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab, merges):
        self.enc = {t: i for i, t in enumerate(vocab)}
        self.dec = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            a, b = parts[best[1]], parts[best[1] + 1]
            out, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        self.cache[word] = parts
        return parts

    def encode(self, text):
        ids = []
        for chunk in regex.split('(' + regex.escape(EOT) + ')', text):
            if chunk == EOT:
                ids.append(self.enc[EOT])
                continue
            for w in GPT2_PAT.findall(chunk):
                ids.extend(self.enc[p] for p in self.bpe(''.join(B2U[b] for b in w.encode('utf-8'))))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.dec[i]
            if t == EOT:
                out += EOT.encode()
            else:
                out += bytes(U2B[c] for c in t)
        return out.decode('utf-8', errors='replace')


# ---------------------------------------------------------------- model (GPT2LMHeadModel names)
class Conv1D(nn.Module):
    """GPT-2's Conv1D: weight [in, out], y = x @ W + b."""
    def __init__(self, nin, nout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nin, nout) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nout))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = Conv1D(N_EMBD, 3 * N_EMBD)
        self.c_proj = Conv1D(N_EMBD, N_EMBD)

    def forward(self, x, past_k=None, past_v=None):
        B, T, C = x.shape
        hd = C // N_HEAD
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, N_HEAD, hd).transpose(1, 2)
        k = k.view(B, T, N_HEAD, hd).transpose(1, 2)
        v = v.view(B, T, N_HEAD, hd).transpose(1, 2)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), k, v


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = Conv1D(N_EMBD, 4 * N_EMBD)
        self.c_proj = Conv1D(4 * N_EMBD, N_EMBD)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(N_EMBD, eps=1e-5)
        self.attn = Attn()
        self.ln_2 = nn.LayerNorm(N_EMBD, eps=1e-5)
        self.mlp = MLP()

    def forward(self, x, pk=None, pv=None):
        a, k, v = self.attn(self.ln_1(x), pk, pv)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, k, v


class Transformer(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, N_EMBD)
        self.wpe = nn.Embedding(N_POS, N_EMBD)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList([Block() for _ in range(N_LAYER)])
        self.ln_f = nn.LayerNorm(N_EMBD, eps=1e-5)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.transformer = Transformer(vocab)

    def forward(self, ids, past=None):
        t = self.transformer
        start = 0 if past is None else past[0].shape[2]
        pos = torch.arange(start, start + ids.shape[1])
        x = t.wte(ids) + t.wpe(pos)[None]
        presents = []
        for i, blk in enumerate(t.h):
            pk, pv = (None, None) if past is None else (past[2 * i], past[2 * i + 1])
            x, k, v = blk(x, pk, pv)
            presents += [k, v]
        x = t.ln_f(x)
        return x @ t.wte.weight.T, presents


# ---------------------------------------------------------------- safetensors writer
def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        arr = t.detach().contiguous().cpu().to(torch.float32)
        data = arr.numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(arr.shape), 'data_offsets': [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    t0 = time.time()
    names, docs = read_corpus()
    held = [d for i, d in enumerate(docs) if i % 20 == 0]
    train_docs = [d for i, d in enumerate(docs) if i % 20 != 0]
    print(f'{len(docs)} fortunes from {len(names)} files, {sum(map(len, docs))} chars', flush=True)
    vocab, merges = train_bpe(train_docs, VOCAB)
    tok = Tokenizer(vocab, merges)
    eot = tok.enc[EOT]
    print(f'BPE: {len(vocab)} tokens, {len(merges)} merges ({time.time() - t0:.0f}s)', flush=True)

    def stream(ds):
        ids = []
        for d in ds:
            ids += tok.encode(d) + [eot]
        return torch.tensor(ids, dtype=torch.long)

    tr, va = stream(train_docs), stream(held)
    print(f'tokens: train {len(tr)}, held-out {len(va)}', flush=True)
    model = GPT2LMHeadModel(len(vocab))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(SEED)

    def batch(data, gen):
        ix = torch.randint(0, len(data) - SEQ - 1, (BATCH,), generator=gen)
        x = torch.stack([data[i:i + SEQ] for i in ix])
        y = torch.stack([data[i + 1:i + SEQ + 1] for i in ix])
        return x, y

    def evaluate():
        model.eval()
        losses = []
        with torch.no_grad():
            for i in range(0, len(va) - SEQ - 1, SEQ):
                x = va[i:i + SEQ][None]
                y = va[i + 1:i + SEQ + 1][None]
                logits, _ = model(x)
                losses.append(F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1)).item())
        model.train()
        return sum(losses) / len(losses)

    for step in range(STEPS):
        lr = 1e-3 * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / STEPS)))
        for pg in opt.param_groups:
            pg['lr'] = lr
        x, y = batch(tr, g)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == STEPS - 1:
            print(f'step {step} loss {loss.item():.3f} ({time.time() - t0:.0f}s)', flush=True)
    val = evaluate()
    print(f'held-out loss {val:.4f} perplexity {math.exp(val):.2f}', flush=True)
    model.eval()

    # ------------------------------------------------------------ artifacts
    sd = {k: v for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(HERE, 'model.safetensors'), sd)
    config = {
        'architectures': ['GPT2LMHeadModel'], 'model_type': 'gpt2', 'activation_function': 'gelu_new',
        'n_layer': N_LAYER, 'n_head': N_HEAD, 'n_embd': N_EMBD, 'n_positions': N_POS, 'n_ctx': N_POS,
        'vocab_size': len(vocab), 'layer_norm_epsilon': 1e-5, 'bos_token_id': eot, 'eos_token_id': eot,
        'tie_word_embeddings': True, 'torch_dtype': 'float32',
    }
    with open(os.path.join(HERE, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    tokenizer_json = {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [{'id': eot, 'content': EOT, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': True, 'special': True}],
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '', 'end_of_word_suffix': '',
                  'fuse_unk': False, 'byte_fallback': False, 'vocab': {t: i for i, t in enumerate(vocab)},
                  'merges': [f'{a} {b}' for a, b in merges]},
    }
    with open(os.path.join(HERE, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tokenizer_json, f, ensure_ascii=False)

    # ------------------------------------------------------------ parity vectors
    prompts = ['Once upon a time', 'The computer', 'Q: Why did the chicken cross the road?\nA:', 'Love is']
    parity = {'prompts': []}
    with torch.no_grad():
        for p in prompts:
            ids = tok.encode(p)
            logits, _ = model(torch.tensor([ids]))
            first = logits[0, -1].tolist()
            seq = list(ids)
            past = None
            x = torch.tensor([ids])
            greedy = []
            for _ in range(64):
                lg, past = model(x, past)
                nxt = int(lg[0, -1].argmax())
                greedy.append(nxt)
                x = torch.tensor([[nxt]])
            # Same continuation without the cache (checks the cached path above).
            full = list(ids)
            for _ in range(64):
                lg, _ = model(torch.tensor([full]))
                full.append(int(lg[0, -1].argmax()))
            assert full[len(ids):] == greedy, 'KV-cache and full recompute disagree'
            parity['prompts'].append({'text': p, 'ids': ids, 'firstLogits': [round(v, 6) for v in first], 'greedy': greedy, 'greedyText': tok.decode(greedy)})
    samples = ['Hello, world!', 'naïve café — déjà vu', '日本語のテキスト', 'emoji 🎉🚀 mix 👍🏽', '  leading  and trailing spaces  ', "it's we'll they'd", 'tabs\tand\nnewlines\n\n', '12345 67.89', '<|endoftext|>after', '']
    parity['tokenizer'] = [{'text': s, 'ids': tok.encode(s), 'decoded': tok.decode(tok.encode(s))} for s in samples]
    for s in samples:
        assert tok.decode(tok.encode(s)) == s, s
    with open(os.path.join(HERE, 'parity.json'), 'w', encoding='utf-8') as f:
        json.dump(parity, f, ensure_ascii=False)

    # ------------------------------------------------------------ ONNX export (past key/values in and out)
    onnx_ok = False
    try:
        class Step(nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, ids, *past):
                logits, presents = self.m(ids, list(past))
                return (logits, *presents)

        past = [torch.zeros(1, N_HEAD, 3, N_EMBD // N_HEAD) for _ in range(2 * N_LAYER)]
        past_names = [f'past_key_values.{i}.{kv}' for i in range(N_LAYER) for kv in ('key', 'value')]
        present_names = [f'present.{i}.{kv}' for i in range(N_LAYER) for kv in ('key', 'value')]
        dyn = {'input_ids': {1: 'seq'}, 'logits': {1: 'seq'}}
        for n in past_names:
            dyn[n] = {2: 'past'}
        for n in present_names:
            dyn[n] = {2: 'total'}
        torch.onnx.export(Step(model), (torch.tensor([[1, 2]]), *past), os.path.join(HERE, 'model.onnx'),
                          input_names=['input_ids', *past_names], output_names=['logits', *present_names],
                          dynamic_axes=dyn, opset_version=14)
        onnx_ok = True
    except Exception as e:  # noqa: BLE001
        print(f'ONNX export failed: {e}', file=sys.stderr)

    params = sum(p.numel() for p in model.parameters())
    card = {
        'task': 'text-generation', 'format': 'gpt2-safetensors',
        'description': f'tiny-gpt: a {N_LAYER}-layer, {N_EMBD}-wide, {N_HEAD}-head GPT-2 ({params / 1e6:.2f} M parameters, context {N_POS}, byte-level BPE of {len(vocab)} tokens) trained here on the fortunes of Debian\'s fortunes package.',
        'license': 'BSD-3-Clause (weights trained here on fortune-mod\'s fortunes, BSD licence, Debian package fortunes)',
        'source': 'models/tiny-gpt/train.py',
        'metrics': {'heldOutLoss': round(val, 4), 'heldOutPerplexity': round(math.exp(val), 2), 'trainSteps': STEPS,
                    'trainTokens': int(len(tr)), 'heldOutTokens': int(len(va)), 'parameters': params},
    }
    with open(os.path.join(HERE, 'card.json'), 'w') as f:
        json.dump(card, f, indent=2)
    print(f'done in {time.time() - t0:.0f}s; onnx={onnx_ok}', flush=True)


if __name__ == '__main__':
    main()
