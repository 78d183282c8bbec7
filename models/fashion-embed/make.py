#!/usr/bin/python3
"""The Fashion CNN as an embedding model: models/fashion-mnist-cnn up to its Dense-64 layer (`dense_1`, ReLU).

No training: the same weights, truncated. Reads models/fashion-mnist-cnn/model.json + its shard, writes here
model.json + group1-shard1of1.bin without the last Dense(10), and rebuilds the PyTorch network from those
weights (the inverse of fashion-mnist-cnn/train.py's export) to write the parity fixture:
  parity.json  PyTorch's 64 penultimate activations of the first PARITY_N images of ../fashion-mnist-cnn/parity
               (and, as a check of the rebuild, its probabilities must equal that fixture's),
plus recall@10 of same-class neighbours (cosine) on the 10,000 test images in PyTorch, for the card.
Run: /usr/bin/python3 models/fashion-embed/make.py
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, '..', 'fashion-mnist-cnn')
DATA = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')
PARITY_N = 100
sys.path.insert(0, SRC)
from train import Net, read_idx  # noqa: E402  (the same architecture)


def main():
    torch.set_num_threads(1)
    with open(os.path.join(SRC, 'model.json')) as f:
        model = json.load(f)
    spec = model['weightsManifest'][0]
    with open(os.path.join(SRC, spec['paths'][0]), 'rb') as f:
        blob = f.read()
    weights, off = {}, 0
    for w in spec['weights']:
        n = int(np.prod(w['shape']))
        weights[w['name']] = np.frombuffer(blob, dtype='<f4', count=n, offset=off).reshape(w['shape'])
        off += 4 * n
    assert off == len(blob)

    # The truncated tfjs model: every layer up to dense_1, and its weights.
    topo = model['modelTopology']
    layers = topo['config']['layers']
    assert layers[-1]['config']['name'] == 'dense_2' and layers[-2]['config']['name'] == 'dense_1'
    topo['config']['layers'] = layers[:-1]
    topo['config']['name'] = 'fashion_embed'
    kept = [w for w in spec['weights'] if not w['name'].startswith('dense_2/')]
    shard = 'group1-shard1of1.bin'
    with open(os.path.join(HERE, shard), 'wb') as f:
        for w in kept:
            f.write(weights[w['name']].astype('<f4').tobytes())
    model['generatedBy'] = 'webinfer models/fashion-embed/make.py (from models/fashion-mnist-cnn, truncated after dense_1)'
    model['weightsManifest'] = [{'paths': [shard], 'weights': kept}]
    with open(os.path.join(HERE, 'model.json'), 'w') as f:
        json.dump(model, f, separators=(',', ':'))

    # PyTorch from the same weights (inverse of the export).
    net = Net()
    k = lambda w: torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    w1 = weights['dense_1/kernel'].T.reshape(64, 3, 3, 64).transpose(0, 3, 1, 2).reshape(64, 576)
    sd = {
        'conv1.weight': k(weights['conv2d_1/kernel']), 'conv1.bias': torch.from_numpy(weights['conv2d_1/bias'].copy()),
        'conv2.weight': k(weights['conv2d_2/kernel']), 'conv2.bias': torch.from_numpy(weights['conv2d_2/bias'].copy()),
        'conv3.weight': k(weights['conv2d_3/kernel']), 'conv3.bias': torch.from_numpy(weights['conv2d_3/bias'].copy()),
        'fc1.weight': torch.from_numpy(np.ascontiguousarray(w1)), 'fc1.bias': torch.from_numpy(weights['dense_1/bias'].copy()),
        'fc2.weight': torch.from_numpy(np.ascontiguousarray(weights['dense_2/kernel'].T)), 'fc2.bias': torch.from_numpy(weights['dense_2/bias'].copy()),
    }
    net.load_state_dict(sd)
    net.eval()

    def embed(x):
        x = F.max_pool2d(F.relu(net.conv1(x)), 2)
        x = F.max_pool2d(F.relu(net.conv2(x)), 2)
        x = F.relu(net.conv3(x))
        return F.relu(net.fc1(torch.flatten(x, 1)))

    with gzip.open(os.path.join(SRC, 'parity', 'images.u8.gz')) as f:
        par = np.frombuffer(f.read(), dtype=np.uint8).reshape(-1, 1, 28, 28)
    with open(os.path.join(SRC, 'parity', 'expected.json')) as f:
        expected = json.load(f)
    x = torch.from_numpy(par.astype(np.float32) / 255.0)
    with torch.no_grad():
        probs = net(x).numpy()
        e = embed(x[:PARITY_N]).numpy()
    diff = float(np.abs(probs - np.array(expected['probabilities'])).max())
    print('rebuilt PyTorch vs the classifier fixture: max |dp| %.2e' % diff)
    assert diff < 1e-5, diff
    with open(os.path.join(HERE, 'parity.json'), 'w') as f:
        json.dump({'count': PARITY_N, 'source': 'models/fashion-mnist-cnn/parity/images.u8.gz (first %d)' % PARITY_N,
                   'embeddings': [[float('%.7g' % v) for v in row] for row in e]}, f, separators=(',', ':'))

    # recall@10 in PyTorch (reference for the browser figure).
    te = torch.from_numpy(read_idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(read_idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
    with torch.no_grad():
        z = torch.cat([embed(te[i:i + 1000]) for i in range(0, len(te), 1000)])
    z = F.normalize(z, dim=1)
    hits = 0
    for i in range(0, len(z), 1000):
        sim = z[i:i + 1000] @ z.T
        sim[torch.arange(sim.shape[0]), torch.arange(i, i + sim.shape[0])] = -float('inf')
        nn_idx = sim.topk(10, dim=1).indices
        hits += (yte[nn_idx] == yte[i:i + 1000, None]).sum().item()
    recall = hits / (10 * len(z))
    print('recall@10 (PyTorch, cosine, 10,000 test images): %.4f' % recall)
    with open(os.path.join(HERE, 'reference.json'), 'w') as f:
        json.dump({'recallAt10.pytorch': round(recall, 4), 'testImages': len(z)}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
