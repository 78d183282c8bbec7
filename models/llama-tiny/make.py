"""
Reference Llama-family decoders in plain PyTorch (no `transformers`), and two tiny seeded
checkpoints made with them, in the Hugging Face layout, for webinfer's parity tests:

  llama-tiny/   model_type llama: 4 query heads sharing 2 key/value heads (grouped-query attention),
                rope_scaling llama3, a separate lm_head, bfloat16-representable float32 weights
  qwen2-tiny/   model_type qwen2: biases on q, k and v, tied embeddings, rope_theta 1e6

Each gets config.json, model.safetensors (float32), tokenizer.json + tokenizer_config.json (a
SentencePiece-style BPE for llama-tiny, a Qwen2-style byte-level BPE for qwen2-tiny, learnt on Debian's
fortunes by tokenizers_ref.py, each with its family's chat template) and parity.json: for four prompts
(token ids), the first-step logits and a 64-token greedy continuation computed here, with the margin of
every greedy choice (the seeds are picked so that no step is a near tie); texts with their ids and
decoded text from tokenizers_ref.py's own encoder; conversations with the template rendered by Python's
jinja2 the way transformers' apply_chat_template does, and the ids of the rendered text.

The reference follows Hugging Face's LlamaForCausalLM / Qwen2ForCausalLM: RMSNorm (x·rsqrt(mean x²+eps)·w),
rotary embeddings with rotate_half, SwiGLU MLP (down(silu(gate(x))·up(x))), causal attention with
repeated key/value heads, final norm and head.

  /usr/bin/python3 models/llama-tiny/make.py        (Debian: apt-get install -y python3-torch python3-regex python3-jinja2 fortunes)
"""
import json
import math
import os
import struct

import jinja2
import jinja2.sandbox
import torch

from tokenizers_ref import ByteLevelBpe, SentencePieceBpe

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def rope_inv_freq(cfg):
    hd = cfg.get('head_dim') or cfg['hidden_size'] // cfg['num_attention_heads']
    theta = cfg.get('rope_theta', 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    s = cfg.get('rope_scaling')
    if not s:
        return inv
    kind = s.get('rope_type', s.get('type'))
    factor = s['factor']
    if kind == 'linear':
        return inv / factor
    assert kind == 'llama3'
    low, high, old = s['low_freq_factor'], s['high_freq_factor'], s['original_max_position_embeddings']
    low_wl, high_wl = old / low, old / high
    wl = 2 * math.pi / inv
    out = torch.where(wl > low_wl, inv / factor, inv)
    smooth = (old / wl - low) / (high - low)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = (wl >= high_wl) & (wl <= low_wl)
    return torch.where(medium, smoothed, out)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def forward(cfg, W, ids):
    """Logits [T, V] of token ids [T] (one sequence, no cache: the reference)."""
    C, H = cfg['hidden_size'], cfg['num_attention_heads']
    KVH = cfg.get('num_key_value_heads', H)
    hd = cfg.get('head_dim') or C // H
    eps = cfg['rms_norm_eps']
    T = len(ids)
    x = W['model.embed_tokens.weight'][torch.tensor(ids)]
    inv = rope_inv_freq(cfg)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1).float()
    sin = torch.cat([ang.sin(), ang.sin()], -1).float()
    mask = torch.full((T, T), float('-inf')).triu(1)
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}.'
        h = rms_norm(x, W[p + 'input_layernorm.weight'], eps)
        def proj(name):
            y = h @ W[p + f'self_attn.{name}.weight'].T
            b = W.get(p + f'self_attn.{name}.bias')
            return y + b if b is not None else y
        q = proj('q_proj').view(T, H, hd).transpose(0, 1)
        k = proj('k_proj').view(T, KVH, hd).transpose(0, 1)
        v = proj('v_proj').view(T, KVH, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KVH, dim=0)
        v = v.repeat_interleave(H // KVH, dim=0)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
        y = (att @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + y @ W[p + 'self_attn.o_proj.weight'].T
        h = rms_norm(x, W[p + 'post_attention_layernorm.weight'], eps)
        g = h @ W[p + 'mlp.gate_proj.weight'].T
        u = h @ W[p + 'mlp.up_proj.weight'].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + 'mlp.down_proj.weight'].T
    x = rms_norm(x, W['model.norm.weight'], eps)
    head = W['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings') else W['lm_head.weight']
    return x @ head.T


def make(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    C, H, I, V = cfg['hidden_size'], cfg['num_attention_heads'], cfg['intermediate_size'], cfg['vocab_size']
    KVH = cfg.get('num_key_value_heads', H)
    hd = cfg.get('head_dim') or C // H
    def rnd(*shape, std):
        return (torch.randn(*shape, generator=g) * std).float()
    W = {'model.embed_tokens.weight': rnd(V, C, std=1.0), 'model.norm.weight': 1 + rnd(C, std=0.1)}
    if not cfg.get('tie_word_embeddings'):
        W['lm_head.weight'] = rnd(V, C, std=1 / math.sqrt(C))
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}.'
        W[p + 'input_layernorm.weight'] = 1 + rnd(C, std=0.1)
        W[p + 'post_attention_layernorm.weight'] = 1 + rnd(C, std=0.1)
        W[p + 'self_attn.q_proj.weight'] = rnd(H * hd, C, std=1 / math.sqrt(C))
        W[p + 'self_attn.k_proj.weight'] = rnd(KVH * hd, C, std=1 / math.sqrt(C))
        W[p + 'self_attn.v_proj.weight'] = rnd(KVH * hd, C, std=1 / math.sqrt(C))
        W[p + 'self_attn.o_proj.weight'] = rnd(C, H * hd, std=1 / math.sqrt(H * hd))
        W[p + 'mlp.gate_proj.weight'] = rnd(I, C, std=1 / math.sqrt(C))
        W[p + 'mlp.up_proj.weight'] = rnd(I, C, std=1 / math.sqrt(C))
        W[p + 'mlp.down_proj.weight'] = rnd(C, I, std=1 / math.sqrt(I))
        if cfg['model_type'] == 'qwen2':
            W[p + 'self_attn.q_proj.bias'] = rnd(H * hd, std=0.1)
            W[p + 'self_attn.k_proj.bias'] = rnd(KVH * hd, std=0.1)
            W[p + 'self_attn.v_proj.bias'] = rnd(KVH * hd, std=0.1)
    return W


def save_safetensors(path, W):
    header, blobs, off = {}, [], 0
    for name in sorted(W):
        b = W[name].contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(W[name].shape), 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def greedy(cfg, W, ids, n):
    ids = list(ids)
    out, margins = [], []
    for _ in range(n):
        logits = forward(cfg, W, ids)[-1]
        top = torch.topk(logits, 2)
        out.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        ids.append(out[-1])
    return out, margins


PROMPTS = [[1, 17, 245, 3], [1, 400, 401, 402, 403, 404, 405, 406], [1], [1] + list(range(30, 80))]

CONFIGS = {
    'llama-tiny': dict(model_type='llama', architectures=['LlamaForCausalLM'], hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, vocab_size=512, max_position_embeddings=256, rms_norm_eps=1e-5,
                       rope_theta=500000.0, rope_scaling={'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
                                                          'original_max_position_embeddings': 64},
                       tie_word_embeddings=False, hidden_act='silu', bos_token_id=1, eos_token_id=2),
    'qwen2-tiny': dict(model_type='qwen2', architectures=['Qwen2ForCausalLM'], hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=1, vocab_size=512, max_position_embeddings=256, rms_norm_eps=1e-6,
                       rope_theta=1000000.0, tie_word_embeddings=True, hidden_act='silu', use_sliding_window=False, sliding_window=256,
                       bos_token_id=509, eos_token_id=511),
}

# Llama 2's chat template (meta-llama/Llama-2-7b-chat-hf) and Qwen2's ChatML one (Qwen/Qwen2-0.5B-Instruct).
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

TEXTS = ['Hello world', 'The café serves 🎉 and 中文, naïvely.', '  leading and  double spaces ', 'tabs\tand\nnew lines\n\n', "don't you'll I'M",
         'numbers 12345 and 3.14159', '', 'e\u0301 combining', 'ALL CAPS SHOUTING!!!', 'Σὲ γνωρίζω ἀπὸ τὴν κόψη']
SPECIAL_TEXTS = {'llama-tiny': ['a</s>b', '<s>[INST] hi [/INST]'], 'qwen2-tiny': ['x<|im_end|>y', '<|im_start|>user\nhi<|im_end|>']}
CHATS = [
    {'messages': [{'role': 'user', 'content': 'Hello!'}], 'add_generation_prompt': True},
    {'messages': [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'What is a fortune?'},
                  {'role': 'assistant', 'content': ' A short saying. '}, {'role': 'user', 'content': 'Another one'}], 'add_generation_prompt': True},
    {'messages': [{'role': 'user', 'content': 'a'}, {'role': 'user', 'content': 'b'}], 'add_generation_prompt': False},
]


def render(template, chat, bos, eos):
    """As transformers' apply_chat_template renders it: a sandboxed environment, trim_blocks, lstrip_blocks."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals['raise_exception'] = raise_exception
    return env.from_string(template).render(bos_token=bos, eos_token=eos, **chat)


GREEDY_TEXTS = ['Once upon a time', 'The meaning of life is', 'Q: What is a fortune?\nA:']


def tokenizer_files(name, d, cfg, W):
    corpus = open('/usr/share/games/fortunes/fortunes', encoding='utf-8').read()
    if name == 'llama-tiny':
        tok = SentencePieceBpe(corpus, 512)
        config = {'add_bos_token': True, 'add_eos_token': False, 'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>',
                  'model_max_length': 256, 'tokenizer_class': 'LlamaTokenizerFast', 'chat_template': LLAMA2_TEMPLATE}
        encode = lambda text, special=True: tok.encode(text, bos=special)
        template, bos, eos = LLAMA2_TEMPLATE, '<s>', '</s>'
    else:
        tok = ByteLevelBpe(corpus, 512)
        config = {'add_prefix_space': False, 'bos_token': None, 'eos_token': '<|im_end|>', 'pad_token': '<|endoftext|>',
                  'model_max_length': 256, 'tokenizer_class': 'Qwen2Tokenizer', 'chat_template': CHATML_TEMPLATE}
        encode = lambda text, special=True: tok.encode(text)
        template, bos, eos = CHATML_TEMPLATE, '', '<|im_end|>'
    with open(os.path.join(d, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tok.tokenizer_json(), f, ensure_ascii=False)
    with open(os.path.join(d, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    texts = [{'text': t, 'ids': encode(t), 'decoded': tok.decode(encode(t))} for t in TEXTS + SPECIAL_TEXTS[name]]
    # Whole generations from text: the prompt's ids, then 32 greedy tokens (with their margins).
    generations = []
    for t in GREEDY_TEXTS:
        g, m = greedy(cfg, W, encode(t), 32)
        generations.append({'text': t, 'ids': encode(t), 'greedy': g, 'minMargin': round(min(m), 5)})
    chats = []
    for chat in CHATS:
        try:
            text = render(template, chat, bos, eos)
            ids = encode(text, False)
            entry = {**chat, 'text': text, 'ids': ids}
            if chat['add_generation_prompt']:
                g, m = greedy(cfg, W, ids, 16)
                entry.update(greedy=g, minMargin=round(min(m), 5))
            chats.append(entry)
        except jinja2.exceptions.TemplateError as e:
            chats.append({**chat, 'error': str(e)})
    return texts, generations, chats


def main():
    for name, cfg in CONFIGS.items():
        for seed in range(1, 100):
            W = make(cfg, seed)
            runs = [greedy(cfg, W, p, 64) for p in PROMPTS]
            if min(min(m) for _, m in runs) > 2e-3:
                break
        else:
            raise SystemExit(f'{name}: no seed without near ties')
        d = os.path.join(HERE, '..', name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(cfg, f, indent=2)
        save_safetensors(os.path.join(d, 'model.safetensors'), W)
        texts, generations, chats = tokenizer_files(name, d, cfg, W)
        parity = {'seed': seed, 'prompts': [{'ids': p, 'firstLogits': [round(float(v), 6) for v in forward(cfg, W, p)[-1]], 'greedy': g, 'minMargin': round(min(m), 5)}
                                            for p, (g, m) in zip(PROMPTS, runs)],
                  'tokenizer': texts, 'generations': generations, 'chat': chats}
        with open(os.path.join(d, 'parity.json'), 'w', encoding='utf-8') as f:
            json.dump(parity, f, ensure_ascii=False)
        print(f'{name}: seed {seed}, {sum(t.numel() for t in W.values())} parameters, smallest greedy margin {min(min(m) for _, m in runs):.4f}')


if __name__ == '__main__':
    main()
