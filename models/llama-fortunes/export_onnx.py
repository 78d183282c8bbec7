"""
ONNX export of llama-fortunes with past key/values in and out, for the benchmark's ONNX Runtime Web runs
(bench/pages/workloads/generation.ts): inputs input_ids [1, T], position_ids [1, T] and
past_key_values.{l}.{key,value} [1, KVH, P, hd]; outputs logits [1, T, V] and present.{l}.{key,value}.
The graph computes exactly ../llama-tiny/make.py's reference (checked here against it before writing).

  /usr/bin/python3 models/llama-fortunes/export_onnx.py
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'llama-tiny'))
import make as ref  # noqa: E402


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32', (k, v['dtype'])
        a, b = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(v['shape'])
    return out


class Step(nn.Module):
    def __init__(self, cfg, W):
        super().__init__()
        self.cfg, self.W = cfg, W
        inv = ref.rope_inv_freq(cfg)
        ang = torch.arange(cfg['max_position_embeddings'], dtype=torch.float64)[:, None] * inv[None, :]
        self.cos = torch.cat([ang.cos(), ang.cos()], -1).float()
        self.sin = torch.cat([ang.sin(), ang.sin()], -1).float()

    def forward(self, ids, pos, *past):
        cfg, W = self.cfg, self.W
        C, H = cfg['hidden_size'], cfg['num_attention_heads']
        KVH = cfg['num_key_value_heads']
        hd = C // H
        eps = cfg['rms_norm_eps']
        x = W['model.embed_tokens.weight'][ids[0]]
        cos = self.cos[pos[0]][None]
        sin = self.sin[pos[0]][None]
        presents = []
        for l in range(cfg['num_hidden_layers']):
            p = f'model.layers.{l}.'
            h = ref.rms_norm(x, W[p + 'input_layernorm.weight'], eps)
            # Shapes use -1 for the sequence so the traced graph keeps it dynamic.
            q = (h @ W[p + 'self_attn.q_proj.weight'].T).reshape(-1, H, hd).transpose(0, 1)
            k = (h @ W[p + 'self_attn.k_proj.weight'].T).reshape(-1, KVH, hd).transpose(0, 1)
            v = (h @ W[p + 'self_attn.v_proj.weight'].T).reshape(-1, KVH, hd).transpose(0, 1)
            q = q * cos + ref.rotate_half(q) * sin
            k = k * cos + ref.rotate_half(k) * sin
            k = torch.cat([past[2 * l][0], k], dim=1)
            v = torch.cat([past[2 * l + 1][0], v], dim=1)
            presents += [k[None], v[None]]
            # Grouped-query heads by unsqueeze/expand/reshape: repeat_interleave traced with the
            # example's sizes baked in and broke on other prompt lengths in ONNX Runtime.
            kk = k[:, None].expand(KVH, H // KVH, k.shape[1], hd).reshape(H, -1, hd)
            vv = v[:, None].expand(KVH, H // KVH, v.shape[1], hd).reshape(H, -1, hd)
            att = q @ kk.transpose(-1, -2) / math.sqrt(hd)
            # Causal mask from positions: query i (absolute pos[i]) sees keys 0..pos[i].
            keys = torch.arange(k.shape[1])[None, :]
            mask = keys <= pos[0][:, None]
            att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
            y = (torch.softmax(att, dim=-1) @ vv).transpose(0, 1).reshape(-1, H * hd)
            x = x + y @ W[p + 'self_attn.o_proj.weight'].T
            h = ref.rms_norm(x, W[p + 'post_attention_layernorm.weight'], eps)
            x = x + (torch.nn.functional.silu(h @ W[p + 'mlp.gate_proj.weight'].T) * (h @ W[p + 'mlp.up_proj.weight'].T)) @ W[p + 'mlp.down_proj.weight'].T
        x = ref.rms_norm(x, W['model.norm.weight'], eps)
        return (x @ W['model.embed_tokens.weight'].T)[None], *presents


def main():
    cfg = json.load(open(os.path.join(HERE, 'config.json')))
    W = load_safetensors(os.path.join(HERE, 'model.safetensors'))
    L, KVH = cfg['num_hidden_layers'], cfg['num_key_value_heads']
    hd = cfg['hidden_size'] // cfg['num_attention_heads']
    step = Step(cfg, W)
    # Check against the reference: a prefill, then one step with the cache.
    ids = [1, 40, 300, 7, 99]
    empty = [torch.zeros(1, KVH, 0, hd) for _ in range(2 * L)]
    with torch.no_grad():
        out = step(torch.tensor([ids[:4]]), torch.arange(4)[None], *empty)
        nxt = step(torch.tensor([ids[4:]]), torch.tensor([[4]]), *out[1:])
        want = ref.forward(cfg, W, ids)
    assert (out[0][0] - want[:4]).abs().max() < 1e-4 and (nxt[0][0, 0] - want[4]).abs().max() < 1e-4, 'export graph differs from the reference'
    # The same check through the traced graph (what the ONNX file holds), at other lengths than the trace's.
    with torch.no_grad():
        traced = torch.jit.trace(step, (torch.tensor([[1, 2]]), torch.tensor([[3, 4]]), *[torch.zeros(1, KVH, 3, hd) for _ in range(2 * L)]))
        t_out = traced(torch.tensor([ids[:4]]), torch.arange(4)[None], *empty)
        t_nxt = traced(torch.tensor([ids[4:]]), torch.tensor([[4]]), *t_out[1:])
    assert (t_out[0][0] - want[:4]).abs().max() < 1e-4 and (t_nxt[0][0, 0] - want[4]).abs().max() < 1e-4, 'traced graph differs from the reference'
    past = [torch.zeros(1, KVH, 3, hd) for _ in range(2 * L)]
    past_names = [f'past_key_values.{i}.{kv}' for i in range(L) for kv in ('key', 'value')]
    present_names = [f'present.{i}.{kv}' for i in range(L) for kv in ('key', 'value')]
    dyn = {'input_ids': {1: 'seq'}, 'position_ids': {1: 'seq'}, 'logits': {1: 'seq'}}
    for n in past_names:
        dyn[n] = {2: 'past'}
    for n in present_names:
        dyn[n] = {2: 'total'}
    torch.onnx.export(step, (torch.tensor([[1, 2]]), torch.tensor([[3, 4]]), *past), os.path.join(HERE, 'model.onnx'),
                      input_names=['input_ids', 'position_ids', *past_names], output_names=['logits', *present_names],
                      dynamic_axes=dyn, opset_version=14)
    print('wrote model.onnx', os.path.getsize(os.path.join(HERE, 'model.onnx')), 'bytes')


if __name__ == '__main__':
    main()
