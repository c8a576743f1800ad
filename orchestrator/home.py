"""Where seglam keeps its files: $SEGLAM_HOME, else ~/.cache/seglam. A module of its own so the
command line can find the home (and the home's running service) without importing the API."""
from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    return Path(os.environ.get("SEGLAM_HOME") or Path.home() / ".cache" / "seglam")
