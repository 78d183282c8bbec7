#!/usr/bin/python3
"""Trains a character-level LSTM language identifier on Debian's fortune collections and exports it.

Data: the fortune cookie files of Debian's packages `fortunes` (English), `fortunes-de`, `fortunes-es`,
`fortunes-it`, `fortunes-br` (Portuguese), `fortunes-pl`, `fortunes-cs`, `fortunes-ru`, `fortunes-eo`
(/usr/share/games/fortunes), cut into single sentences. Each fortune goes wholly to train or to test
(seeded), so no test sentence has a sibling from the same cookie in training.

Text pre-processing (declared in card.json `text`, implemented the same in workers/tasks/text-classification.ts):
  NFC -> lowercase -> every run of white space becomes one space -> trim -> code points -> ids
  (vocabulary: the characters seen at least MIN_COUNT times in training, most frequent first, ids from 2;
  0 = padding, 1 = unknown) -> the first MAX_LEN ids are kept -> padded with 0 on the LEFT to MAX_LEN.

Model: Embedding(V, 32, id 0 = zero vector) -> LSTM(128) (last state) -> Dense(L) softmax.
PyTorch's LSTM and Keras's share the gate order (i, f, g/c, o); Keras's one bias is b_ih + b_hh and
`recurrent_activation` must be `sigmoid` (tfjs's default is hard_sigmoid).

Writes, next to this file: model.json + group1-shard1of1.bin (tfjs layers model), card.json
(pre-processing, labels, licences, metrics from PyTorch), training.json, parity.json (texts, their ids and
PyTorch's probabilities). Run: /usr/bin/python3 models/langid-lstm/train.py (1 thread, about 15 minutes);
`train.py --heldout out.json` writes the held-out split only (the same seeded split), for the browser measurement.
"""
import collections
import glob
import json
import os
import random
import re
import sys
import time
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FORTUNES = '/usr/share/games/fortunes'
SEED = int(os.environ.get('SEED', '20261207'))
EPOCHS = int(os.environ.get('EPOCHS', '6'))
MAX_LEN = 96
MIN_COUNT = 20
EMBED = 32
UNITS = 128
BATCH = 64
PER_LANG_TRAIN = int(os.environ.get('PER_LANG_TRAIN', '7000'))
PER_LANG_TEST = 500
TEST_FRACTION = 0.15
MIN_CHARS, MAX_CHARS = 20, 400

# language -> (Debian package, files). Files that are mostly another language or not text are left out.
SOURCES = {
    'en': ('fortunes', [p for p in glob.glob(FORTUNES + '/*') if os.path.isfile(p) and not os.path.islink(p) and '.' not in os.path.basename(p)
                        and os.path.basename(p) not in ('ascii-art', 'art', 'brasil', 'translate-me')]),
    'de': ('fortunes-de', [p for p in glob.glob(FORTUNES + '/de/*') if '.' not in os.path.basename(p) and os.path.basename(p) not in ('asciiart', 'translations')]),
    'es': ('fortunes-es', [p for p in glob.glob(FORTUNES + '/es/*.fortunes') if os.path.isfile(p)]),
    'it': ('fortunes-it', [p for p in glob.glob(FORTUNES + '/it/*') if '.' not in os.path.basename(p)]),
    'pt': ('fortunes-br', [FORTUNES + '/brasil']),
    'pl': ('fortunes-pl', [p for p in glob.glob(FORTUNES + '/pl/*') if '.' not in os.path.basename(p)]),
    'cs': ('fortunes-cs', [p for p in glob.glob(FORTUNES + '/cs/*') if '.' not in os.path.basename(p) and os.path.basename(p) not in ('klasik-sk', 'lkml')]),
    'ru': ('fortunes-ru', [p for p in glob.glob(FORTUNES + '/ru/*') if '.' not in os.path.basename(p)]),
    'eo': ('fortunes-eo', [FORTUNES + '/eo/proverbaro']),
}
LANGS = list(SOURCES)
NAMES = {'en': 'English', 'de': 'German', 'es': 'Spanish', 'it': 'Italian', 'pt': 'Portuguese', 'pl': 'Polish', 'cs': 'Czech', 'ru': 'Russian', 'eo': 'Esperanto'}
LICENCES = {
    'fortunes': 'BSD (the BSD fortune(6) collection; /usr/share/doc/fortunes/copyright)',
    'fortunes-de': 'GPL-2+ (/usr/share/doc/fortunes-de/copyright)',
    'fortunes-es': 'GPL-2+ for the package; the quotes are presumed public domain (/usr/share/doc/fortunes-es/copyright)',
    'fortunes-it': 'public domain ("freeware (public domain)", /usr/share/doc/fortunes-it/copyright)',
    'fortunes-br': 'GPL-2+ (/usr/share/doc/fortunes-br/copyright)',
    'fortunes-pl': 'GPL-2+ (/usr/share/doc/fortunes-pl/copyright)',
    'fortunes-cs': 'GPL (/usr/share/doc/fortunes-cs/copyright)',
    'fortunes-ru': 'GPL-2 / GPL-2+ (/usr/share/doc/fortunes-ru/copyright)',
    'fortunes-eo': 'GPL (Esperanto translation of the GPL, /usr/share/doc/fortunes-eo/copyright)',
}

WS = re.compile(r'\s+')
SPLIT = re.compile(r'(?<=[.!?…])\s+')
ATTRIBUTION = re.compile(r'^\s*(--|—|~~)')


def normalize(text):
    """NFC, lowercase, white-space runs -> one space, trimmed (the card's `text` section)."""
    return WS.sub(' ', unicodedata.normalize('NFC', text).lower()).strip()


def fortunes_of(path):
    with open(path, 'rb') as f:
        raw = f.read().decode('utf-8', errors='replace')
    raw = raw.replace('\r\n', '\n')
    return [c for c in re.split(r'\n%\n', raw) if c.strip()]


def sentences_of(cookie):
    """Single sentences of one fortune: attributions dropped, lines joined, split after . ! ? …"""
    lines = [l for l in cookie.split('\n') if not ATTRIBUTION.match(l)]
    text = ' '.join(l.strip().lstrip('-–—>*#').strip() for l in lines)
    out = []
    for s in SPLIT.split(WS.sub(' ', text).strip()):
        s = s.strip()
        letters = sum(ch.isalpha() for ch in s)
        if MIN_CHARS <= len(s) <= MAX_CHARS and letters >= 0.6 * len(s) and len(s.split()) >= 3 and '\ufffd' not in s:
            out.append(s)
    return out


def load_data(rng):
    train, test = {}, {}
    for lang, (_, files) in SOURCES.items():
        cookies = []
        for p in sorted(files):
            cookies.extend(fortunes_of(p))
        cookies = sorted(set(cookies))
        rng.shuffle(cookies)
        tr, te, seen = [], [], set()
        n_test = int(len(cookies) * TEST_FRACTION)
        for i, c in enumerate(cookies):
            for s in sentences_of(c):
                key = normalize(s)
                if key in seen:
                    continue
                seen.add(key)
                (te if i < n_test else tr).append(s)
        rng.shuffle(tr)
        rng.shuffle(te)
        train[lang], test[lang] = tr[:PER_LANG_TRAIN], te[:PER_LANG_TEST]
        print(lang, 'files', len(files), 'cookies', len(cookies), 'train', len(tr), '->', len(train[lang]), 'test', len(te), '->', len(test[lang]), flush=True)
    return train, test


def encode(text, vocab):
    ids = [vocab.get(ch, 1) for ch in normalize(text)][:MAX_LEN]
    return [0] * (MAX_LEN - len(ids)) + ids


class Net(nn.Module):
    def __init__(self, vocab_size, labels):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, EMBED, padding_idx=0)
        self.lstm = nn.LSTM(EMBED, UNITS, batch_first=True)
        self.out = nn.Linear(UNITS, labels)

    def logits(self, ids):  # ids: N, MAX_LEN (left-padded)
        _, (h, _) = self.lstm(self.embed(ids))
        return self.out(h[-1])

    def forward(self, ids):
        return F.softmax(self.logits(ids), dim=1)


def layer(cls, name, extra):
    cfg = {'name': name, 'trainable': True, 'dtype': 'float32'}
    cfg.update(extra)
    return {'class_name': cls, 'config': cfg}


def export_tfjs(net, vocab_size, labels):
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    weights = [
        ('embedding_1/embeddings', sd['embed.weight']),
        ('lstm_1/kernel', np.ascontiguousarray(sd['lstm.weight_ih_l0'].T)),  # [EMBED, 4U], gates i f c o
        ('lstm_1/recurrent_kernel', np.ascontiguousarray(sd['lstm.weight_hh_l0'].T)),  # [U, 4U]
        ('lstm_1/bias', sd['lstm.bias_ih_l0'] + sd['lstm.bias_hh_l0']),
        ('dense_1/kernel', np.ascontiguousarray(sd['out.weight'].T)),
        ('dense_1/bias', sd['out.bias']),
    ]
    topology = {
        'class_name': 'Sequential',
        'config': {'name': 'langid_lstm', 'layers': [
            layer('Embedding', 'embedding_1', {'input_dim': vocab_size, 'output_dim': EMBED, 'mask_zero': False, 'input_length': MAX_LEN,
                                               'batch_input_shape': [None, MAX_LEN], 'embeddings_initializer': {'class_name': 'RandomUniform', 'config': {'minval': -0.05, 'maxval': 0.05, 'seed': None}}}),
            layer('LSTM', 'lstm_1', {'units': UNITS, 'activation': 'tanh', 'recurrent_activation': 'sigmoid', 'use_bias': True, 'unit_forget_bias': True,
                                     'return_sequences': False, 'return_state': False, 'go_backwards': False, 'stateful': False, 'unroll': False,
                                     'dropout': 0.0, 'recurrent_dropout': 0.0, 'implementation': 1}),
            layer('Dense', 'dense_1', {'units': labels, 'activation': 'softmax', 'use_bias': True}),
        ]},
        'keras_version': 'tfjs-layers 4.22.0',
        'backend': 'tensor_flow.js',
    }
    shard = 'group1-shard1of1.bin'
    with open(os.path.join(HERE, shard), 'wb') as f:
        for _, w in weights:
            f.write(w.astype('<f4').tobytes())
    model = {
        'format': 'layers-model',
        'generatedBy': 'webinfer models/langid-lstm/train.py (PyTorch %s)' % torch.__version__,
        'convertedBy': None,
        'modelTopology': topology,
        'weightsManifest': [{'paths': [shard], 'weights': [{'name': n, 'shape': list(w.shape), 'dtype': 'float32'} for n, w in weights]}],
    }
    with open(os.path.join(HERE, 'model.json'), 'w') as f:
        json.dump(model, f, separators=(',', ':'))


def main():
    rng = random.Random(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(int(os.environ.get('THREADS', '1')))

    train, test = load_data(rng)
    if len(sys.argv) == 3 and sys.argv[1] == '--heldout':  # the held-out split only (for scripts/measure-text-tasks.ts)
        with open(sys.argv[2], 'w') as f:
            json.dump({'labels': LANGS, 'texts': [s for l in LANGS for s in test[l]], 'targets': [i for i, l in enumerate(LANGS) for _ in test[l]]}, f, ensure_ascii=False)
        return 0
    counts = collections.Counter(ch for lang in LANGS for s in train[lang] for ch in normalize(s))
    chars = [ch for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= MIN_COUNT]
    vocab = {ch: i + 2 for i, ch in enumerate(chars)}
    V = len(vocab) + 2
    print('vocabulary', V, flush=True)

    def tensors(split):
        xs, ys = [], []
        for li, lang in enumerate(LANGS):
            for s in split[lang]:
                xs.append(encode(s, vocab))
                ys.append(li)
        return torch.tensor(xs, dtype=torch.int64), torch.tensor(ys, dtype=torch.int64)

    xtr, ytr = tensors(train)
    xte, yte = tensors(test)
    net = Net(V, len(LANGS))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    steps = EPOCHS * ((len(xtr) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(SEED)
    history = []

    def evaluate():
        net.eval()
        with torch.no_grad():
            probs = torch.cat([net(xte[i:i + 500]) for i in range(0, len(xte), 500)])
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
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        _, acc = evaluate()
        history.append({'epoch': epoch + 1, 'loss': round(total / len(xtr), 5), 'testAccuracy': round(acc, 5), 'seconds': round(time.time() - t0, 1)})
        print(history[-1], flush=True)

    probs, acc = evaluate()
    pred = probs.argmax(1)
    per_lang = {lang: round(float((pred[yte == li] == li).float().mean()), 4) for li, lang in enumerate(LANGS)}
    print('held-out accuracy %.4f' % acc, per_lang, flush=True)
    test_texts = [s for lang in LANGS for s in test[lang]]
    wrong = [(LANGS[int(yte[i])], LANGS[int(pred[i])], test_texts[i]) for i in range(len(test_texts)) if pred[i] != yte[i]]
    for w in wrong[:40]:
        print('  wrong', w, flush=True)

    export_tfjs(net, V, len(LANGS))
    net.eval()

    # Parity fixture: 8 held-out sentences per language, plus texts that exercise the pre-processing.
    extra = ['Ünïcödé   TEXT\twith\nwhite  space — and ☃ unknown ✓ characters', 'x' * 300, 'Ｆｕｌｌｗｉｄｔｈ', 'e\u0301te\u0301 (NFD é)', 'a']
    texts = [s for lang in LANGS for s in test[lang][:8]] + extra
    ids = [encode(t, vocab) for t in texts]
    with torch.no_grad():
        p = net(torch.tensor(ids, dtype=torch.int64)).numpy()
    with open(os.path.join(HERE, 'parity.json'), 'w') as f:
        json.dump({'labels': LANGS, 'texts': texts, 'ids': ids, 'probabilities': [[float('%.7g' % x) for x in row] for row in p]}, f, ensure_ascii=False, separators=(',', ':'))

    card = {
        'task': 'text-classification',
        'description': 'Language identifier: a character-level LSTM (Embedding 32 -> LSTM 128 -> Dense %d softmax) trained here on single sentences of '
                       "Debian's fortune collections in %d languages (%s)." % (len(LANGS), len(LANGS), ', '.join(NAMES[l] for l in LANGS)),
        'labels': LANGS,
        'text': {
            'normalize': ['NFC', 'lowercase', 'collapse-whitespace', 'trim'],
            'vocabulary': chars,
            'padId': 0,
            'unknownId': 1,
            'firstId': 2,
            'maxLength': MAX_LEN,
            'truncate': 'end',
            'pad': 'start',
            'maxInputChars': 10000,
        },
        'output': 'probabilities',
        'license': 'Model and script: MIT (webinfer). Training text: ' + '; '.join('%s (%s): %s' % (NAMES[l], SOURCES[l][0], LICENCES[SOURCES[l][0]]) for l in LANGS),
        'source': 'models/langid-lstm/train.py',
        'metrics': {
            'accuracy.pytorch': round(acc, 4),
            'testSentences': len(xte),
            **{'accuracy.pytorch.%s' % l: v for l, v in per_lang.items()},
        },
    }
    old = os.path.join(HERE, 'card.json')
    if os.path.exists(old):  # keep figures measured in the browser
        with open(old) as f:
            prev = json.load(f).get('metrics', {})
        card['metrics'].update({k: v for k, v in prev.items() if 'browser' in k or k == 'measuredWith'})
    with open(old, 'w') as f:
        json.dump(card, f, ensure_ascii=False, indent=1)
    with open(os.path.join(HERE, 'training.json'), 'w') as f:
        json.dump({'seed': SEED, 'epochs': EPOCHS, 'batch': BATCH, 'optimizer': 'Adam, one-cycle lr 3e-3, grad clip 1.0', 'torch': torch.__version__,
                   'trainSentences': {l: len(train[l]) for l in LANGS}, 'testSentences': {l: len(test[l]) for l in LANGS},
                   'history': history, 'testAccuracy': round(acc, 5), 'perLanguage': per_lang, 'errors': len(wrong)}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
