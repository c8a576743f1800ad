"""Which device the model runs on, and the settings that are faster there.

Flash attention fuses the attention softmax and matmuls. Whether that is faster depends on
the backend: measured by `make bench-engine` (bench/results/engine.md) on this project's CPU
machine it is no faster for the 1.5B model on CPU (see FLASH_ATTN_DEFAULT), while llama.cpp's
CUDA/Metal kernels are built for it. `SEGLAM_FLASH_ATTN=on|off|auto` or the engine's
`flash_attn` argument override the choice.
"""
from __future__ import annotations

import os

from .base import EngineError

# What the engine uses when asked for "auto", per device. cpu: off, measured (bench-engine:
# prompt eval and decode with flash attention on vs off, 1.5B Q4_K_M, 2 cores); gpu: on,
# llama.cpp's GPU kernels (not measured here: no GPU was lent to this project's runs).
FLASH_ATTN_DEFAULT = {"cpu": False, "gpu": True}
FLASH_ATTN_ENV = "SEGLAM_FLASH_ATTN"


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
