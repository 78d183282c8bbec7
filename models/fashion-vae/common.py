"""Shared by models/fashion-vae/train.py and models/fashion-dcgan/train.py: Fashion-MNIST loading,
tfjs layers export (Keras topology written by hand, weights in tfjs layout), the project's Fashion
CNN in PyTorch (for the quality figures), and the Inception-Score-style figures."""
import gzip
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def layer(cls, name, extra):
    cfg = {'name': name, 'trainable': True, 'dtype': 'float32'}
    cfg.update(extra)
    return {'class_name': cls, 'config': cfg}


def dense(name, units, activation, input_dim=None):
    extra = {'units': units, 'activation': activation, 'use_bias': True}
    if input_dim is not None:
        extra['batch_input_shape'] = [None, input_dim]
    return layer('Dense', name, extra)


def conv(name, filters, activation, input_shape=None):
    """Conv2D 4x4 stride 2 'same' (= PyTorch Conv2d(k=4, s=2, p=1) on even sizes)."""
    extra = {'filters': filters, 'kernel_size': [4, 4], 'strides': [2, 2], 'padding': 'same', 'data_format': 'channels_last',
             'dilation_rate': [1, 1], 'activation': activation, 'use_bias': True}
    if input_shape is not None:
        extra['batch_input_shape'] = [None] + list(input_shape)
    return layer('Conv2D', name, extra)


def deconv(name, filters, activation):
    """Conv2DTranspose 4x4 stride 2 'same' (= PyTorch ConvTranspose2d(k=4, s=2, p=1): doubles the size)."""
    return layer('Conv2DTranspose', name, {'filters': filters, 'kernel_size': [4, 4], 'strides': [2, 2], 'padding': 'same',
                                           'data_format': 'channels_last', 'dilation_rate': [1, 1], 'activation': activation, 'use_bias': True})


def conv_kernel(w):
    """PyTorch Conv2d [out, in, kh, kw] -> tfjs [kh, kw, in, out]."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def deconv_kernel(w):
    """PyTorch ConvTranspose2d [in, out, kh, kw] -> tfjs Conv2DTranspose [kh, kw, out, in]."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def chw_rows_to_hwc(w, c, h, wd):
    """A Linear's weight [units, c*h*w] reading a CHW flatten -> the same reading an HWC flatten."""
    return np.ascontiguousarray(w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1))


def chw_cols_to_hwc(w, b, c, h, wd):
    """A Linear whose output is viewed as CHW -> outputs in HWC order (for a Reshape [h, w, c])."""
    w = w.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(c * h * wd, -1)
    b = b.reshape(c, h, wd).transpose(1, 2, 0).reshape(-1)
    return np.ascontiguousarray(w), np.ascontiguousarray(b)


def fold_bn(weight, bias, bn, out_axis):
    """Folds an eval-mode BatchNorm after a layer into its weight (output channels on out_axis) and bias."""
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().numpy()
    shape = [1] * weight.ndim
    shape[out_axis] = -1
    w = weight * s.reshape(shape)
    b = (bias - bn.running_mean.detach().numpy()) * s + bn.bias.detach().numpy()
    return w.astype(np.float32), b.astype(np.float32)


def write_layers_model(out_dir, stem, name, layers, weights, generated_by):
    """Writes `<stem>.json` + `<stem>.bin`: a Sequential tfjs layers model."""
    shard = stem + '.bin'
    with open(os.path.join(out_dir, shard), 'wb') as f:
        for _, w in weights:
            f.write(np.asarray(w, dtype='<f4').tobytes())
    model = {
        'format': 'layers-model',
        'generatedBy': generated_by,
        'convertedBy': None,
        'modelTopology': {'class_name': 'Sequential', 'config': {'name': name, 'layers': layers},
                          'keras_version': 'tfjs-layers 4.22.0', 'backend': 'tensor_flow.js'},
        'weightsManifest': [{'paths': [shard], 'weights': [{'name': n, 'shape': list(np.shape(w)), 'dtype': 'float32'} for n, w in weights]}],
    }
    with open(os.path.join(out_dir, stem + '.json'), 'w') as f:
        json.dump(model, f, separators=(',', ':'))


class FashionCnn(nn.Module):
    """The project's Fashion CNN (models/fashion-mnist-cnn), rebuilt from its tfjs export."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.fc1 = nn.Linear(576, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):  # N,1,28,28 in [0,1] -> probabilities
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return F.softmax(self.fc2(x), dim=1)


def load_fashion_cnn():
    d = os.path.join(REPO, 'models', 'fashion-mnist-cnn')
    with open(os.path.join(d, 'model.json')) as f:
        spec = json.load(f)
    raw = np.fromfile(os.path.join(d, 'group1-shard1of1.bin'), dtype='<f4')
    tensors, at = {}, 0
    for w in spec['weightsManifest'][0]['weights']:
        n = int(np.prod(w['shape']))
        tensors[w['name']] = raw[at:at + n].reshape(w['shape'])
        at += n
    net = FashionCnn()
    k = lambda w: torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    w1 = tensors['dense_1/kernel'].T.reshape(64, 3, 3, 64).transpose(0, 3, 1, 2).reshape(64, 576)
    sd = {'conv1.weight': k(tensors['conv2d_1/kernel']), 'conv1.bias': torch.from_numpy(tensors['conv2d_1/bias'].copy()),
          'conv2.weight': k(tensors['conv2d_2/kernel']), 'conv2.bias': torch.from_numpy(tensors['conv2d_2/bias'].copy()),
          'conv3.weight': k(tensors['conv2d_3/kernel']), 'conv3.bias': torch.from_numpy(tensors['conv2d_3/bias'].copy()),
          'fc1.weight': torch.from_numpy(np.ascontiguousarray(w1)), 'fc1.bias': torch.from_numpy(tensors['dense_1/bias'].copy()),
          'fc2.weight': torch.from_numpy(np.ascontiguousarray(tensors['dense_2/kernel'].T)), 'fc2.bias': torch.from_numpy(tensors['dense_2/bias'].copy())}
    net.load_state_dict(sd)
    net.eval()
    return net


def quality(cnn, images01):
    """images01: N,1,28,28 in [0,1]. Mean top-1 probability, and the entropy (nats) of the histogram of predicted classes."""
    with torch.no_grad():
        probs = torch.cat([cnn(images01[i:i + 1000]) for i in range(0, len(images01), 1000)])
    top1 = probs.max(1).values.mean().item()
    counts = torch.bincount(probs.argmax(1), minlength=10).double()
    p = counts / counts.sum()
    entropy = -sum(float(x) * math.log(float(x)) for x in p if x > 0)
    return {'meanTop1': round(top1, 4), 'classEntropy': round(entropy, 4), 'classCounts': [int(c) for c in counts]}
