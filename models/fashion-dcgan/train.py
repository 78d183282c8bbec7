#!/usr/bin/python3
"""Trains a small DCGAN on Fashion-MNIST with PyTorch and exports its generator as a tfjs layers model.

Generator: z (16) -> Dense 7*7*64 + BatchNorm + ReLU -> Reshape 7x7x64 -> ConvT 32 4x4/2 + BatchNorm + ReLU (14)
-> ConvT 1 4x4/2 tanh (28) = pixels in [-1,1]. The BatchNorms are folded into the layers before them at export
(their running statistics re-estimated over 50 batches after training). Discriminator (training only):
Conv 32 4x4/2 LeakyReLU -> Conv 64 4x4/2 BatchNorm LeakyReLU -> Linear 1.

Writes, next to this file: generator.json/.bin, training.json (seed, losses, PyTorch quality figures),
parity/expected.json (latents in, PyTorch outputs). Run with Debian's Python:
/usr/bin/python3 models/fashion-dcgan/train.py (about 6 minutes on 1 thread).
"""
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'fashion-vae'))
import common  # noqa: E402

SEED = int(os.environ.get('SEED', '20261207'))
EPOCHS = int(os.environ.get('EPOCHS', '5'))
LATENT = 16
BATCH = 128
PARITY_N = 8


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LATENT, 64 * 7 * 7)
        self.bn0 = nn.BatchNorm1d(64 * 7 * 7)
        self.d1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(32)
        self.d2 = nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z))).view(-1, 64, 7, 7)
        return torch.tanh(self.d2(F.relu(self.bn1(self.d1(h)))))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 4, 2, 1)
        self.c2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.bn = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), 0.2)
        h = F.leaky_relu(self.bn(self.c2(h)), 0.2)
        return self.fc(torch.flatten(h, 1)).squeeze(1)


def export(g):
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in g.state_dict().items()}
    w0, b0 = common.fold_bn(sd['fc.weight'], sd['fc.bias'], g.bn0, 0)
    fw, fb = common.chw_cols_to_hwc(w0, b0, 64, 7, 7)
    w1, b1 = common.fold_bn(sd['d1.weight'], sd['d1.bias'], g.bn1, 1)  # ConvTranspose weight [in, out, kh, kw]
    layers = [common.dense('gen_dense', 64 * 7 * 7, 'relu', input_dim=LATENT), common.layer('Reshape', 'gen_reshape', {'target_shape': [7, 7, 64]}),
              common.deconv('gen_deconv_1', 32, 'relu'), common.deconv('gen_deconv_2', 1, 'tanh')]
    weights = [('gen_dense/kernel', fw.T.copy()), ('gen_dense/bias', fb),
               ('gen_deconv_1/kernel', common.deconv_kernel(w1)), ('gen_deconv_1/bias', b1),
               ('gen_deconv_2/kernel', common.deconv_kernel(sd['d2.weight'])), ('gen_deconv_2/bias', sd['d2.bias'])]
    common.write_layers_model(HERE, 'generator', 'fashion_dcgan_generator', layers, weights, 'webinfer models/fashion-dcgan/train.py (PyTorch %s)' % torch.__version__)


def main():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(int(os.environ.get('THREADS', '1')))
    xtr = torch.from_numpy(common.read_idx('train-images-idx3-ubyte.gz').astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    g, d = Generator(), Discriminator()
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(SEED)
    history = []
    for epoch in range(EPOCHS):
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        tg = td = 0.0
        steps = 0
        for i in range(0, len(xtr) - BATCH + 1, BATCH):
            real = xtr[perm[i:i + BATCH]]
            fake = g(torch.randn(BATCH, LATENT, generator=gen))
            ones, zeros = torch.full((BATCH,), 0.9), torch.zeros(BATCH)  # one-sided label smoothing
            ld = F.binary_cross_entropy_with_logits(d(real), ones) + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
            od.zero_grad()
            ld.backward()
            od.step()
            lg = F.binary_cross_entropy_with_logits(d(fake), torch.ones(BATCH))
            og.zero_grad()
            lg.backward()
            og.step()
            tg += lg.item()
            td += ld.item()
            steps += 1
        history.append({'epoch': epoch + 1, 'lossG': round(tg / steps, 4), 'lossD': round(td / steps, 4), 'seconds': round(time.time() - t0, 1)})
        print(history[-1], flush=True)
    # Re-estimate the generator's BatchNorm statistics (cumulative average over 50 batches), then freeze them.
    for bn in (g.bn0, g.bn1):
        bn.reset_running_stats()
        bn.momentum = None
    with torch.no_grad():
        for _ in range(50):
            g(torch.randn(256, LATENT, generator=gen))
    g.eval()
    export(g)
    cnn = common.load_fashion_cnn()
    with torch.no_grad():
        samples = torch.cat([g(torch.randn(1000, LATENT, generator=gen)) for _ in range(10)])
    q = common.quality(cnn, (samples + 1) / 2)
    print('pytorch: samples %s' % q, flush=True)
    lat = np.random.RandomState(SEED).standard_normal((PARITY_N, LATENT)).astype(np.float32)
    with torch.no_grad():
        out = g(torch.from_numpy(lat)).numpy().reshape(PARITY_N, 784)
    os.makedirs(os.path.join(HERE, 'parity'), exist_ok=True)
    f7 = lambda a: [[float('%.7g' % x) for x in row] for row in a]
    with open(os.path.join(HERE, 'parity', 'expected.json'), 'w') as f:
        json.dump({'latentDim': LATENT, 'latents': f7(lat), 'decoded': f7(out)}, f, separators=(',', ':'))
    with open(os.path.join(HERE, 'training.json'), 'w') as f:
        json.dump({'seed': SEED, 'epochs': EPOCHS, 'batch': BATCH, 'latentDim': LATENT, 'optimizer': 'Adam lr 2e-4 betas (0.5, 0.999), both nets',
                   'loss': 'non-saturating BCE, one-sided label smoothing 0.9', 'torch': torch.__version__, 'history': history,
                   'pytorch': {'samples': 10000, **q}}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
