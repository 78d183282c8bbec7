#!/usr/bin/python3
"""Trains the seeds' Fashion-MNIST CNN with PyTorch and exports it.

Architecture (exactly): Conv2D 32 3x3 ReLU on 28x28x1 -> MaxPool 2x2 -> Conv2D 64 3x3 ReLU
-> MaxPool 2x2 -> Conv2D 64 3x3 ReLU -> Flatten -> Dense 64 ReLU -> Dense 10 softmax.

Writes, next to this file:
  model.json + group1-shard1of1.bin   TensorFlow.js layers model (weights in tfjs layout)
  model.onnx                           the same weights as ONNX (NCHW input, softmax output)
  training.json                        seed, epochs, loss per epoch, test accuracy (all 10,000)
  parity/images.u8.gz                  PARITY_N test images (uint8, 28x28, row-major), gzip
  parity/expected.json                 their labels, PyTorch's top-1 and probabilities
  ../../demo/public/samples/fashion/   one test image per class (the first the model gets right), for the demo

Run with Debian's Python (`npm run train:fashion` = scripts/train-fashion.sh, which checks
the apt packages first). Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
import gzip
import json
import os
import random
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')
SEED = int(os.environ.get('SEED', '20251122'))
EPOCHS = int(os.environ.get('EPOCHS', '14'))
BATCH = 64
PARITY_N = 500
LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.fc1 = nn.Linear(64 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, 10)

    def logits(self, x):  # x: N,1,28,28 in [0,1]
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 26 -> 13
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 11 -> 5
        x = F.relu(self.conv3(x))  # 3x3x64
        x = torch.flatten(x, 1)  # channel-major (C,H,W)
        x = F.relu(self.fc1(x))
        return self.fc2(x)

    def forward(self, x):
        return F.softmax(self.logits(x), dim=1)


def png_gray(path, img):
    """Writes an 8-bit grayscale PNG (no PIL needed)."""
    h, w = img.shape
    raw = b''.join(b'\x00' + img[y].tobytes() for y in range(h))

    def chunk(kind, body):
        c = struct.pack('>I', len(body)) + kind + body
        return c + struct.pack('>I', zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def layer(cls, name, extra):
    cfg = {'name': name, 'trainable': True, 'dtype': 'float32'}
    cfg.update(extra)
    return {'class_name': cls, 'config': cfg}


def conv(name, filters, first=False):
    extra = {'filters': filters, 'kernel_size': [3, 3], 'strides': [1, 1], 'padding': 'valid', 'data_format': 'channels_last',
             'dilation_rate': [1, 1], 'activation': 'relu', 'use_bias': True}
    if first:
        extra['batch_input_shape'] = [None, 28, 28, 1]
    return layer('Conv2D', name, extra)


def pool(name):
    return layer('MaxPooling2D', name, {'pool_size': [2, 2], 'padding': 'valid', 'strides': [2, 2], 'data_format': 'channels_last'})


def dense(name, units, activation):
    return layer('Dense', name, {'units': units, 'activation': activation, 'use_bias': True})


def export_tfjs(net, out_dir):
    """A Keras-style Sequential topology that tfjs-layers 4.22 loads, weights in tfjs layout."""
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    # conv kernels: PyTorch [out,in,kh,kw] -> tfjs [kh,kw,in,out]
    k = lambda w: np.ascontiguousarray(w.transpose(2, 3, 1, 0))
    # first dense: PyTorch flattens (C,H,W); tfjs flattens NHWC as (H,W,C). Reorder the input rows.
    w1 = sd['fc1.weight']  # [64, 576] with input index c*9 + h*3 + w
    w1 = w1.reshape(64, 64, 3, 3).transpose(0, 2, 3, 1).reshape(64, 576)  # -> index h*192 + w*64 + c
    weights = [
        ('conv2d_1/kernel', k(sd['conv1.weight'])), ('conv2d_1/bias', sd['conv1.bias']),
        ('conv2d_2/kernel', k(sd['conv2.weight'])), ('conv2d_2/bias', sd['conv2.bias']),
        ('conv2d_3/kernel', k(sd['conv3.weight'])), ('conv2d_3/bias', sd['conv3.bias']),
        ('dense_1/kernel', np.ascontiguousarray(w1.T)), ('dense_1/bias', sd['fc1.bias']),
        ('dense_2/kernel', np.ascontiguousarray(sd['fc2.weight'].T)), ('dense_2/bias', sd['fc2.bias']),
    ]
    topology = {
        'class_name': 'Sequential',
        'config': {'name': 'fashion_mnist_cnn', 'layers': [
            conv('conv2d_1', 32, first=True), pool('max_pooling2d_1'), conv('conv2d_2', 64), pool('max_pooling2d_2'),
            conv('conv2d_3', 64), layer('Flatten', 'flatten_1', {}), dense('dense_1', 64, 'relu'), dense('dense_2', 10, 'softmax'),
        ]},
        'keras_version': 'tfjs-layers 4.22.0',
        'backend': 'tensor_flow.js',
    }
    shard = 'group1-shard1of1.bin'
    with open(os.path.join(out_dir, shard), 'wb') as f:
        for _, w in weights:
            f.write(w.astype('<f4').tobytes())
    model = {
        'format': 'layers-model',
        'generatedBy': 'webinfer models/fashion-mnist-cnn/train.py (PyTorch %s)' % torch.__version__,
        'convertedBy': None,
        'modelTopology': topology,
        'weightsManifest': [{'paths': [shard], 'weights': [{'name': n, 'shape': list(w.shape), 'dtype': 'float32'} for n, w in weights]}],
    }
    with open(os.path.join(out_dir, 'model.json'), 'w') as f:
        json.dump(model, f, separators=(',', ':'))


def main():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(int(os.environ.get('THREADS', '1')))

    xtr = torch.from_numpy(read_idx('train-images-idx3-ubyte.gz').astype(np.float32) / 255.0).unsqueeze(1)
    ytr = torch.from_numpy(read_idx('train-labels-idx1-ubyte.gz').astype(np.int64))
    te_u8 = read_idx('t10k-images-idx3-ubyte.gz')
    xte = torch.from_numpy(te_u8.astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(read_idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
    print('train', tuple(xtr.shape), 'test', tuple(xte.shape), flush=True)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    gen = torch.Generator().manual_seed(SEED)
    history = []

    def evaluate():
        net.eval()
        with torch.no_grad():
            probs = torch.cat([net(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
        net.train()
        return probs, (probs.argmax(1) == yte).float().mean().item()

    for epoch in range(EPOCHS):
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(net.logits(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        _, acc = evaluate()
        history.append({'epoch': epoch + 1, 'loss': round(total / len(xtr), 5), 'testAccuracy': round(acc, 5), 'seconds': round(time.time() - t0, 1)})
        print(history[-1], flush=True)

    probs, acc = evaluate()
    print('test accuracy (10,000 images): %.4f' % acc, flush=True)

    export_tfjs(net, HERE)
    net.eval()
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), os.path.join(HERE, 'model.onnx'), input_names=['input'], output_names=['probabilities'],
                      dynamic_axes={'input': {0: 'batch'}, 'probabilities': {0: 'batch'}}, opset_version=13)

    # Parity fixture: a seeded sample of the test set, with PyTorch's outputs.
    os.makedirs(os.path.join(HERE, 'parity'), exist_ok=True)
    pick = np.sort(np.random.RandomState(SEED).choice(len(te_u8), PARITY_N, replace=False))
    with gzip.GzipFile(os.path.join(HERE, 'parity', 'images.u8.gz'), 'wb', mtime=0) as f:
        f.write(te_u8[pick].tobytes())
    p = probs[torch.from_numpy(pick)].numpy()
    expected = {
        'count': PARITY_N, 'width': 28, 'height': 28, 'channels': 1,
        'indices': pick.tolist(),
        'labels': yte[torch.from_numpy(pick)].tolist(),
        'predictions': p.argmax(1).tolist(),
        'probabilities': [[float('%.7g' % x) for x in row] for row in p],
        'accuracy': float((p.argmax(1) == yte[torch.from_numpy(pick)].numpy()).mean()),
    }
    with open(os.path.join(HERE, 'parity', 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))

    sample_dir = os.path.join(HERE, '..', '..', 'demo', 'public', 'samples', 'fashion')
    os.makedirs(sample_dir, exist_ok=True)
    samples = []
    yte_np = yte.numpy()
    for c in range(10):
        i = int(next(j for j in range(len(yte_np)) if yte_np[j] == c and probs[j].argmax().item() == c))
        name = 'test-%05d-%d.png' % (i, c)
        png_gray(os.path.join(sample_dir, name), te_u8[i])
        samples.append({'file': name, 'index': i, 'label': LABELS[c]})
    with open(os.path.join(sample_dir, 'samples.json'), 'w') as f:
        json.dump(samples, f, indent=1)

    with open(os.path.join(HERE, 'training.json'), 'w') as f:
        json.dump({'seed': SEED, 'epochs': EPOCHS, 'batch': BATCH, 'optimizer': 'Adam lr 1e-3, cosine schedule', 'torch': torch.__version__,
                   'history': history, 'testAccuracy': round(acc, 5), 'testImages': len(xte)}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
