"""Which device the model runs on, and the settings that are faster there.

Flash attention fuses the attention softmax and matmuls. Whether that is faster depends on
the backend (reports differ between CPUs; llama.cpp's CUDA/Metal kernels are built for it).
`make bench-engine` measures prompt eval and decode with it on and off (bench/results/
engine.md); FLASH_ATTN_DEFAULT holds the per-device choice. `SEGLAM_FLASH_ATTN=on|off|auto`
or the engine's `flash_attn` argument override it.
"""
from __future__ import annotations

import os

from .base import EngineError

# What the engine uses when asked for "auto", per device. cpu: off. A synthesis reply is decoded
# after a ~1,900-token context; there, on 2 cores, plain decoding is 1.08x faster with it off, and
# decoding with drafts from the grammar and the prompt 1.37x faster than with it on and plain,
# against 1.18x with it on (bench/results/synthesis_decoding.md, the ways in turn on six
# requests). The short contexts of make bench-engine (bench/results/engine.md) had it ahead.
# gpu: on, llama.cpp's GPU kernels (not measured: no GPU was lent to these runs).
FLASH_ATTN_DEFAULT = {"cpu": False, "gpu": True}
FLASH_ATTN_ENV = "SEGLAM_FLASH_ATTN"

# Whether draft_model="auto" speculates, per device. cpu: no. Measured (bench/results/engine.md):
# slower than plain with the 0.5B draft, held on or adaptive (which also pays the draft's
# catch-up on the prompt), and the batched verify flips near-tie tokens, so the reply is not
# the plain one. gpu: yes, where the draft is many times cheaper than the main model.
SPECULATE_DEFAULT = {"cpu": False, "gpu": True}

# Synthesis drafts one call asks for (LlamaEngine.chat_many), per device. cpu: 1. On 2 cores a
# second sequence in the same batched decode costs well over half a reply more
# (bench/results/parallel_drafts.md), and in the 37-kind model run two drafts a call verified
# no kind that one did not, with a slower median miss (bench/results/cache.md, run cand2-3b89bce).
# gpu: 3, where a step of a few sequences costs about one (decoding is memory-bound there; not
# measured: no GPU was lent).
DRAFTS_PER_CALL_DEFAULT = {"cpu": 1, "gpu": 3}


def device_kind(n_gpu_layers: int) -> str:
    """"gpu" when llama.cpp was built with a GPU backend and layers are offloaded, else "cpu"."""
    import llama_cpp

    return "gpu" if n_gpu_layers != 0 and llama_cpp.llama_supports_gpu_offload() else "cpu"


def resolve_flash_attn(setting: bool | str | None, device: str) -> bool:
    """The flash attention flag to load with: an explicit bool wins, then the setting or the
    SEGLAM_FLASH_ATTN environment variable ("on", "off", "auto"), then the device's default."""
    if isinstance(setting, bool):
        return setting
    choice = (setting or os.environ.get(FLASH_ATTN_ENV) or "auto").strip().lower()
    if choice not in ("on", "off", "auto"):
        raise EngineError(f"flash attention setting {choice!r} is not one of on, off, auto "
                          f"(the flash_attn argument or ${FLASH_ATTN_ENV})")
    return FLASH_ATTN_DEFAULT[device] if choice == "auto" else choice == "on"


def on_or_off(setting: bool | None, env: str, name: str, default: bool = True) -> bool:
    """A switch: an explicit bool wins, then the environment variable ("on" or "off"), then
    the default."""
    if isinstance(setting, bool):
        return setting
    choice = (os.environ.get(env) or ("on" if default else "off")).strip().lower()
    if choice not in ("on", "off"):
        raise EngineError(f"{name} setting {choice!r} is not on or off (the {name} argument or ${env})")
    return choice == "on"
