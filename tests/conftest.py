from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from orchestrator.storage.embed import Embedder

# Engines keep KV states and speculation measurements under the seglam home; a test session
# keeps its own, so no run depends on what an earlier one left there.
STATE_DIR = tempfile.mkdtemp(prefix="seglam-test-kv-")
os.environ.setdefault("SEGLAM_PREFIX_DIR", STATE_DIR)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(STATE_DIR, ignore_errors=True)  # ~30 MB per prompt state


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One MiniLM for the whole session: loading it is the slow part of opening a store."""
    return Embedder()
