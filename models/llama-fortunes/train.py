"""
llama-fortunes: a small Llama-style model (RMSNorm, rotary positions, SwiGLU, grouped-query attention, tied
embeddings) trained here on the fortunes of Debian's `fortunes` packages (fortune-mod, BSD licence), for
webinfer's demo: a model that writes sentences, in the Hugging Face layout (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, generation_config.json).

  - Corpus and held-out split as models/tiny-gpt/train.py: every fortune of /usr/share/games/fortunes
    (files without a dot), one document per fortune; every 20th fortune is held out.
  - Tokenizer: a SentencePiece-style BPE (Metaspace ▁, byte fallback, <s> </s> <unk>) learnt on the training
    fortunes by ../llama-tiny/tokenizers_ref.py, written as tokenizer.json.
  - Training: AdamW, cosine schedule, seeded; the held-out loss is measured on the whole held-out stream in
    windows of the context, and also given per character (bits per character), which does not depend on the
    vocabulary size, so it compares with tiny-gpt's.
  - After training, the exported weights are run through the plain reference of ../llama-tiny/make.py and
    parity.json gets first-step logits and greedy continuations for webinfer's parity tests.

  /usr/bin/python3 models/llama-fortunes/train.py     (Debian: python3-torch python3-regex python3-jinja2 fortunes)
  env: LF_STEPS (default 1500), LF_THREADS (1: faster than 2 for these small matrices here),
       LF_TOKENIZER (a tokenizer.json this script wrote before: skips the ~10 min of learning the same BPE again)
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'llama-tiny'))
from tokenizers_ref import SentencePieceBpe  # noqa: E402
import make as ref  # noqa: E402

CORPUS_DIR = '/usr/share/games/fortunes'
SEED = 1234
VOCAB = int(os.environ.get('LF_VOCAB', 1024))
STEPS = int(os.environ.get('LF_STEPS', 1500))
BATCH, SEQ = 16, 128
LR = 2e-3
torch.manual_seed(SEED)
torch.set_num_threads(int(os.environ.get('LF_THREADS', 1)))

CFG = dict(model_type='llama', architectures=['LlamaForCausalLM'], hidden_size=192, intermediate_size=512, num_hidden_layers=4,
           num_attention_heads=6, num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=SEQ, rms_norm_eps=1e-5,
           rope_theta=10000.0, tie_word_embeddings=True, hidden_act='silu', bos_token_id=1, eos_token_id=2, torch_dtype='float32')


def read_corpus():
    docs = []
    names = sorted(n for n in os.listdir(CORPUS_DIR) if '.' not in n and os.path.isfile(os.path.join(CORPUS_DIR, n)))
    for n in names:
        with open(os.path.join(CORPUS_DIR, n), encoding='utf-8', errors='replace') as f:
            text = f.read()
        for d in text.split('\n%\n'):
            d = d.strip('%\n')
            if d.strip():
                docs.append(d)
    return names, docs


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, H, KVH, I = c['hidden_size'], c['num_attention_heads'], c['num_key_value_heads'], c['intermediate_size']
        hd = C // H
        self.H, self.KVH, self.hd = H, KVH, hd
        self.ln1 = nn.Parameter(torch.ones(C))
        self.ln2 = nn.Parameter(torch.ones(C))
        self.q = nn.Linear(C, H * hd, bias=False)
        self.k = nn.Linear(C, KVH * hd, bias=False)
        self.v = nn.Linear(C, KVH * hd, bias=False)
        self.o = nn.Linear(H * hd, C, bias=False)
        self.gate = nn.Linear(C, I, bias=False)
        self.up = nn.Linear(C, I, bias=False)
        self.down = nn.Linear(I, C, bias=False)

    def forward(self, x, cos, sin, mask, eps):
        B, T, C = x.shape
        h = ref.rms_norm(x, self.ln1, eps)
        q = self.q(h).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.KVH, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.KVH, self.hd).transpose(1, 2)
        q = q * cos + ref.rotate_half(q) * sin
        k = k * cos + ref.rotate_half(k) * sin
        k = k.repeat_interleave(self.H // self.KVH, dim=1)
        v = v.repeat_interleave(self.H // self.KVH, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.o(y)
        h = ref.rms_norm(x, self.ln2, eps)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c['vocab_size'], c['hidden_size'])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c['num_hidden_layers']))
        self.norm = nn.Parameter(torch.ones(c['hidden_size']))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
        for b in self.blocks:  # residual projections scaled down, as GPT-2 does
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * c['num_hidden_layers']))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * c['num_hidden_layers']))
        inv = ref.rope_inv_freq(c)
        ang = torch.arange(c['max_position_embeddings'], dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer('cos', torch.cat([ang.cos(), ang.cos()], -1).float(), persistent=False)
        self.register_buffer('sin', torch.cat([ang.sin(), ang.sin()], -1).float(), persistent=False)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.embed(ids)
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), float('-inf')).triu(1)
        for b in self.blocks:
            x = b(x, cos, sin, mask, self.c['rms_norm_eps'])
        return ref.rms_norm(x, self.norm, self.c['rms_norm_eps']) @ self.embed.weight.T

    def hf_weights(self):
        W = {'model.embed_tokens.weight': self.embed.weight, 'model.norm.weight': self.norm}
        for l, b in enumerate(self.blocks):
            p = f'model.layers.{l}.'
            W.update({p + 'input_layernorm.weight': b.ln1, p + 'post_attention_layernorm.weight': b.ln2,
                      p + 'self_attn.q_proj.weight': b.q.weight, p + 'self_attn.k_proj.weight': b.k.weight,
                      p + 'self_attn.v_proj.weight': b.v.weight, p + 'self_attn.o_proj.weight': b.o.weight,
                      p + 'mlp.gate_proj.weight': b.gate.weight, p + 'mlp.up_proj.weight': b.up.weight,
                      p + 'mlp.down_proj.weight': b.down.weight})
        return {k: v.detach().float().contiguous().clone() for k, v in W.items()}


def main():
    t0 = time.time()
    names, docs = read_corpus()
    held = [d for i, d in enumerate(docs) if i % 20 == 0]
    train_docs = [d for i, d in enumerate(docs) if i % 20 != 0]
    if os.environ.get('LF_TOKENIZER'):
        # The same BPE, learnt before by this script (learning is deterministic): vocabulary and merges from its file.
        model = json.load(open(os.environ['LF_TOKENIZER'], encoding='utf-8'))['model']
        tok = SentencePieceBpe.__new__(SentencePieceBpe)
        tok.vocab = model['vocab']
        tok.merges = [tuple(m) for m in model['merges']]
        tok.ranks = {m: i for i, m in enumerate(tok.merges)}
        assert len(tok.vocab) == VOCAB
    else:
        tok = SentencePieceBpe('\n'.join(train_docs), VOCAB)
        with open(os.path.join(HERE, 'tokenizer.json'), 'w', encoding='utf-8') as f:
            json.dump(tok.tokenizer_json(), f, ensure_ascii=False)
    print(f'{len(docs)} fortunes from {len(names)} files; tokenizer {len(tok.vocab)} pieces ({time.time() - t0:.0f}s)', flush=True)

    def stream(ds):
        ids = []
        for d in ds:
            ids += tok.encode(d, bos=True) + [2]
        return torch.tensor(ids, dtype=torch.long)

    tr, va = stream(train_docs), stream(held)
    held_chars = sum(len(d) + 1 for d in held)
    print(f'tokens: train {len(tr)}, held-out {len(va)} ({held_chars / len(va):.2f} characters per token) ({time.time() - t0:.0f}s)', flush=True)
    model = Llama(CFG)
    n_params = sum(p.numel() for p in model.parameters())
    print(f'{n_params} parameters', flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}], lr=LR, betas=(0.9, 0.95))
    g = torch.Generator().manual_seed(SEED)

    def evaluate():
        model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(va) - 1, SEQ):
                x = va[i:i + SEQ][None]
                y = va[i + 1:i + SEQ + 1][None]
                x = x[:, :y.shape[1]]
                logits = model(x)
                total += F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), reduction='sum').item()
                n += y.numel()
        model.train()
        return total / n, total

    warm = 100
    for step in range(STEPS):
        lr = LR * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / STEPS)))
        for pg in opt.param_groups:
            pg['lr'] = lr
        ix = torch.randint(0, len(tr) - SEQ - 1, (BATCH,), generator=g)
        x = torch.stack([tr[i:i + SEQ] for i in ix])
        y = torch.stack([tr[i + 1:i + SEQ + 1] for i in ix])
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == STEPS - 1:
            print(f'step {step} loss {loss.item():.3f} lr {lr:.2e} ({time.time() - t0:.0f}s)', flush=True)
        if step > 0 and step % 500 == 0:
            print(f'  held-out loss {evaluate()[0]:.4f}', flush=True)
    val, nats = evaluate()
    bpc = nats / math.log(2) / held_chars
    print(f'held-out loss {val:.4f} perplexity {math.exp(val):.2f}, {bpc:.3f} bits per character', flush=True)

    W = model.hf_weights()
    ref.save_safetensors(os.path.join(HERE, 'model.safetensors'), W)
    with open(os.path.join(HERE, 'config.json'), 'w') as f:
        json.dump(CFG, f, indent=2)
    with open(os.path.join(HERE, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tok.tokenizer_json(), f, ensure_ascii=False)
    with open(os.path.join(HERE, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump({'add_bos_token': True, 'add_eos_token': False, 'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>',
                   'model_max_length': SEQ, 'tokenizer_class': 'LlamaTokenizerFast'}, f, indent=2)
    with open(os.path.join(HERE, 'generation_config.json'), 'w') as f:
        json.dump({'bos_token_id': 1, 'eos_token_id': 2, 'do_sample': True, 'temperature': 0.8, 'top_k': 40}, f, indent=2)

    # The exported weights through the plain reference: parity vectors, and what the model writes.
    prompts = ['Once upon a time', 'The meaning of life is', 'Q: What is a fortune?\nA:', 'Love is']
    parity = {'prompts': []}
    for p in prompts:
        ids = tok.encode(p, bos=True)
        out, margins = ref.greedy(CFG, W, ids, 64)
        parity['prompts'].append({'text': p, 'ids': ids, 'firstLogits': [round(float(v), 6) for v in ref.forward(CFG, W, ids)[-1]],
                                  'greedy': out, 'minMargin': round(min(margins), 5), 'decoded': tok.decode(ids + out)})
        print(repr(tok.decode(ids + out)), f'(smallest margin {min(margins):.4f})', flush=True)
    samples = []
    gs = torch.Generator().manual_seed(7)
    for p in prompts[:3]:
        ids = tok.encode(p, bos=True)
        for _ in range(80):
            with torch.no_grad():
                logits = ref.forward(CFG, W, ids[-SEQ:])[-1] / 0.8
            top = torch.topk(logits, 40)
            nxt = int(top.indices[torch.multinomial(torch.softmax(top.values, -1), 1, generator=gs)])
            if nxt == 2:
                break
            ids.append(nxt)
        samples.append(tok.decode(ids))
        print('sample:', repr(samples[-1]), flush=True)
    with open(os.path.join(HERE, 'parity.json'), 'w', encoding='utf-8') as f:
        json.dump(parity, f, ensure_ascii=False)
    metrics = {'heldOutLoss': round(val, 4), 'heldOutPerplexity': round(math.exp(val), 2), 'heldOutBitsPerCharacter': round(bpc, 3),
               'trainSteps': STEPS, 'trainTokensSeen': STEPS * BATCH * SEQ, 'trainTokens': len(tr), 'heldOutTokens': len(va),
               'heldOutCharacters': held_chars, 'parameters': n_params, 'trainSeconds': round(time.time() - t0)}
    with open(os.path.join(HERE, 'train-metrics.json'), 'w', encoding='utf-8') as f:
        json.dump({'metrics': metrics, 'samples': samples}, f, ensure_ascii=False, indent=2)
    print(json.dumps(metrics), flush=True)


if __name__ == '__main__':
    main()
