#!/usr/bin/python3
"""Trains a small convolutional VAE on Fashion-MNIST with PyTorch and exports it as two tfjs layers models.

Encoder: 28x28x1 in [0,1] -> Conv 32 4x4/2 ReLU (14) -> Conv 64 4x4/2 ReLU (7) -> Flatten -> Dense 16 (the mean;
the log-variance head is used in training only). Decoder: z (16) -> Dense 7*7*64 ReLU -> Reshape 7x7x64
-> ConvT 32 4x4/2 ReLU (14) -> ConvT 1 4x4/2 sigmoid (28) = pixels in [0,1].

Writes, next to this file: encoder.json/.bin, decoder.json/.bin (tfjs layers models), training.json
(seed, losses, PyTorch quality figures), parity/expected.json (latents and images in, PyTorch outputs).
Run with Debian's Python: /usr/bin/python3 models/fashion-vae/train.py (about 4 minutes on 1 thread).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = int(os.environ.get('SEED', '20261207'))
EPOCHS = int(os.environ.get('EPOCHS', '6'))
LATENT = 16
BATCH = 128
PARITY_N = 8


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 4, 2, 1)
        self.c2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.mu = nn.Linear(64 * 7 * 7, LATENT)
        self.logvar = nn.Linear(64 * 7 * 7, LATENT)
        self.fc = nn.Linear(LATENT, 64 * 7 * 7)
        self.d1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.d2 = nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def encode(self, x):
        h = torch.flatten(F.relu(self.c2(F.relu(self.c1(x)))), 1)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        h = F.relu(self.fc(z)).view(-1, 64, 7, 7)
        return torch.sigmoid(self.d2(F.relu(self.d1(h))))


def export(net):
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    by = 'webinfer models/fashion-vae/train.py (PyTorch %s)' % torch.__version__
    enc_layers = [common.conv('enc_conv_1', 32, 'relu', input_shape=[28, 28, 1]), common.conv('enc_conv_2', 64, 'relu'),
                  common.layer('Flatten', 'enc_flatten', {}), common.dense('enc_mean', LATENT, 'linear')]
    enc_weights = [('enc_conv_1/kernel', common.conv_kernel(sd['c1.weight'])), ('enc_conv_1/bias', sd['c1.bias']),
                   ('enc_conv_2/kernel', common.conv_kernel(sd['c2.weight'])), ('enc_conv_2/bias', sd['c2.bias']),
                   ('enc_mean/kernel', common.chw_rows_to_hwc(sd['mu.weight'], 64, 7, 7).T.copy()), ('enc_mean/bias', sd['mu.bias'])]
    common.write_layers_model(HERE, 'encoder', 'fashion_vae_encoder', enc_layers, enc_weights, by)
    fw, fb = common.chw_cols_to_hwc(sd['fc.weight'], sd['fc.bias'], 64, 7, 7)
    dec_layers = [common.dense('dec_dense', 64 * 7 * 7, 'relu', input_dim=LATENT), common.layer('Reshape', 'dec_reshape', {'target_shape': [7, 7, 64]}),
                  common.deconv('dec_deconv_1', 32, 'relu'), common.deconv('dec_deconv_2', 1, 'sigmoid')]
    dec_weights = [('dec_dense/kernel', fw.T.copy()), ('dec_dense/bias', fb),
                   ('dec_deconv_1/kernel', common.deconv_kernel(sd['d1.weight'])), ('dec_deconv_1/bias', sd['d1.bias']),
                   ('dec_deconv_2/kernel', common.deconv_kernel(sd['d2.weight'])), ('dec_deconv_2/bias', sd['d2.bias'])]
    common.write_layers_model(HERE, 'decoder', 'fashion_vae_decoder', dec_layers, dec_weights, by)


def main():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(int(os.environ.get('THREADS', '1')))
    xtr = torch.from_numpy(common.read_idx('train-images-idx3-ubyte.gz').astype(np.float32) / 255.0).unsqueeze(1)
    te_u8 = common.read_idx('t10k-images-idx3-ubyte.gz')
    xte = torch.from_numpy(te_u8.astype(np.float32) / 255.0).unsqueeze(1)
    net = Vae()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(SEED)
    history = []
    for epoch in range(EPOCHS):
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), BATCH):
            x = xtr[perm[i:i + BATCH]]
            mu, logvar = net.encode(x)
            z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(0.5 * logvar)
            rec = F.binary_cross_entropy(net.decode(z), x, reduction='sum')
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (rec + kl) / len(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
        history.append({'epoch': epoch + 1, 'loss': round(total / len(xtr), 3), 'seconds': round(time.time() - t0, 1)})
        print(history[-1], flush=True)
    net.eval()
    export(net)
    cnn = common.load_fashion_cnn()
    with torch.no_grad():
        rec = torch.cat([net.decode(net.encode(xte[i:i + 1000])[0]) for i in range(0, len(xte), 1000)])
        mse = F.mse_loss(rec, xte).item()
        samples = torch.cat([net.decode(torch.randn(1000, LATENT, generator=gen)) for _ in range(10)])
    q = common.quality(cnn, samples)
    print('pytorch: reconstruction MSE %.5f, samples %s' % (mse, q), flush=True)
    # Parity fixture: seeded latents -> decoder outputs; test images -> encoder means.
    rs = np.random.RandomState(SEED)
    lat = rs.standard_normal((PARITY_N, LATENT)).astype(np.float32)
    pick = np.sort(rs.choice(len(te_u8), PARITY_N, replace=False))
    with torch.no_grad():
        dec = net.decode(torch.from_numpy(lat)).numpy().reshape(PARITY_N, 784)
        enc = net.encode(xte[torch.from_numpy(pick)])[0].numpy()
    os.makedirs(os.path.join(HERE, 'parity'), exist_ok=True)
    f7 = lambda a: [[float('%.7g' % x) for x in row] for row in a]
    with open(os.path.join(HERE, 'parity', 'expected.json'), 'w') as f:
        json.dump({'latentDim': LATENT, 'latents': f7(lat), 'decoded': f7(dec), 'testIndices': pick.tolist(),
                   'images': [te_u8[i].reshape(-1).tolist() for i in pick], 'encoded': f7(enc)}, f, separators=(',', ':'))
    with open(os.path.join(HERE, 'training.json'), 'w') as f:
        json.dump({'seed': SEED, 'epochs': EPOCHS, 'batch': BATCH, 'latentDim': LATENT, 'optimizer': 'Adam lr 1e-3', 'loss': 'BCE (sum) + KL, per image',
                   'torch': torch.__version__, 'history': history,
                   'pytorch': {'reconstructionMse': round(mse, 5), 'testImages': len(xte), 'samples': 10000, **q}}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
