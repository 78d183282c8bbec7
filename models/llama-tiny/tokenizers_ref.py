"""
Tokenizers for the tiny Llama-family checkpoints, and a reference encoder for each, written here from
the algorithms' definitions (not with Hugging Face's libraries, which webinfer itself uses), so that
the tests compare two independent implementations:

  sentencepiece_bpe   Llama 2 / TinyLlama layout: <unk> <s> </s>, 256 byte-fallback pieces <0x00>…<0xFF>,
                      then pieces learnt here; normalizer Prepend("▁") + Replace(" ", "▁"), no
                      pre-tokenizer, BPE with byte_fallback; decoder Replace, ByteFallback, Fuse, Strip
  byte_level_bpe      Qwen2 layout: the 256 byte characters of GPT-2's byte-to-unicode map, merges learnt
                      here, Qwen2's split regex, NFC; <|endoftext|> <|im_start|> <|im_end|> at the end

Both are learnt by plain BPE (most frequent pair first, ties by the pair's text) on Debian's fortunes
(fortune-mod, BSD), which setup installs; the files are committed, so CI never learns them.
"""
import unicodedata
from collections import Counter

import regex

SPACE = '\u2581'
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
               r"\s+(?!\S)|\s+")


def byte_chars():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def learn(words, base, size):
    """Plain BPE: words (tuple of symbols → count); returns the merges that fill the vocabulary to size."""
    vocab = list(base)
    known = set(vocab)
    words = {w: c for w, c in words.items()}
    merges = []
    while len(vocab) < size:
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        merges.append((a, b))
        if a + b not in known:
            vocab.append(a + b)
            known.add(a + b)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return vocab, merges


def bpe(symbols, ranks):
    """Apply merges by rank (lowest first, leftmost on ties) until none applies."""
    symbols = list(symbols)
    while len(symbols) > 1:
        best, at = None, -1
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best):
                best, at = r, i
        if best is None:
            break
        symbols[at:at + 2] = [symbols[at] + symbols[at + 1]]
    return symbols


class SentencePieceBpe:
    SPECIAL = ['<unk>', '<s>', '</s>']

    def __init__(self, corpus, size):
        chars = Counter(ch for ch in corpus.replace(' ', SPACE) if ch != '\n')
        # Single characters seen at least 20 times become pieces; the rest fall back to bytes.
        base = sorted(ch for ch, c in chars.items() if c >= 20)
        words = Counter()
        for line in corpus.split('\n'):
            for w in line.split(' '):
                if w:
                    words[tuple(SPACE + w)] += 1
        words = {tuple(ch if ch in base else '?' for ch in w): c for w, c in words.items()}
        byte_pieces = [f'<0x{b:02X}>' for b in range(256)]
        fixed = self.SPECIAL + byte_pieces
        vocab, self.merges = learn(words, base, size - len(fixed))
        self.vocab = {p: i for i, p in enumerate(fixed + vocab)}
        self.ranks = {m: i for i, m in enumerate(self.merges)}

    def encode(self, text, bos=True):
        ids = [1] if bos else []
        # Special tokens written in the text are tokens of their own (HF added tokens).
        for part in regex.split(r'(<s>|</s>|<unk>)', text):
            if part in self.SPECIAL:
                ids.append(self.vocab[part])
                continue
            if not part:
                continue
            ids.extend(self._encode_plain(part, first=(part is not None)))
        return ids

    def _encode_plain(self, text, first):
        s = (SPACE + text).replace(' ', SPACE)
        out = []
        for piece in bpe(list(s), self.ranks):
            if piece in self.vocab:
                out.append(self.vocab[piece])
            else:
                out.extend(self.vocab[f'<0x{b:02X}>'] for b in piece.encode('utf-8'))
        return out

    def decode(self, ids):
        """Special tokens left out; byte pieces joined into UTF-8; ▁ → space; one leading space dropped."""
        pieces = {i: p for p, i in self.vocab.items()}
        out = bytearray()
        for i in ids:
            p = pieces[i]
            if p in self.SPECIAL:
                continue
            m = regex.fullmatch(r'<0x([0-9A-F]{2})>', p)
            out += bytes([int(m.group(1), 16)]) if m else p.replace(SPACE, ' ').encode('utf-8')
        text = out.decode('utf-8', errors='replace')
        return text[1:] if text.startswith(' ') else text

    def tokenizer_json(self):
        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': [{'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
                             for i, t in enumerate(self.SPECIAL)],
            'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'Prepend', 'prepend': SPACE},
                                                               {'type': 'Replace', 'pattern': {'String': ' '}, 'content': SPACE}]},
            'pre_tokenizer': None,
            'post_processor': {'type': 'TemplateProcessing',
                               'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                               'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                                        {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
                               'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},
            'decoder': {'type': 'Sequence', 'decoders': [{'type': 'Replace', 'pattern': {'String': SPACE}, 'content': ' '},
                                                         {'type': 'ByteFallback'}, {'type': 'Fuse'},
                                                         {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
            'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None, 'end_of_word_suffix': None,
                      'fuse_unk': True, 'byte_fallback': True, 'ignore_merges': False, 'vocab': self.vocab,
                      'merges': [[a, b] for a, b in self.merges]},
        }


class ByteLevelBpe:
    SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>']

    def __init__(self, corpus, size):
        self.bc = byte_chars()
        base = [self.bc[b] for b in sorted(self.bc, key=lambda b: ord(self.bc[b]))]
        words = Counter()
        for w in regex.findall(QWEN2_SPLIT, unicodedata.normalize('NFC', corpus)):
            words[tuple(self.bc[b] for b in w.encode('utf-8'))] += 1
        vocab, self.merges = learn(words, base, size - len(self.SPECIAL))
        self.vocab = {p: i for i, p in enumerate(vocab)}
        self.special = {t: len(vocab) + i for i, t in enumerate(self.SPECIAL)}
        self.ranks = {m: i for i, m in enumerate(self.merges)}

    def encode(self, text):
        ids = []
        for part in regex.split('(' + '|'.join(regex.escape(t) for t in self.SPECIAL) + ')', text):
            if part in self.special:
                ids.append(self.special[part])
            elif part:
                for w in regex.findall(QWEN2_SPLIT, unicodedata.normalize('NFC', part)):
                    ids.extend(self.vocab[p] for p in bpe([self.bc[b] for b in w.encode('utf-8')], self.ranks))
        return ids

    def decode(self, ids):
        """Special tokens left out; byte characters back to bytes, then UTF-8."""
        chars = {i: p for p, i in self.vocab.items()}
        back = {c: b for b, c in self.bc.items()}
        out = bytearray()
        for i in ids:
            if i in chars:
                out += bytes(back[c] for c in chars[i])
        return out.decode('utf-8', errors='replace')

    def tokenizer_json(self):
        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': [{'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
                             for t, i in self.special.items()],
            'normalizer': {'type': 'NFC'},
            'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
                {'type': 'Split', 'pattern': {'Regex': QWEN2_SPLIT}, 'behavior': 'Isolated', 'invert': False},
                {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False}]},
            'post_processor': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False},
            'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False},
            'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '', 'end_of_word_suffix': '',
                      'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False, 'vocab': self.vocab,
                      'merges': [[a, b] for a, b in self.merges]},
        }
