from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from orchestrator import Seglam, Settings
from orchestrator.storage.embed import Embedder
from scripted import ScriptedSynthesizer

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


@pytest.fixture
def open_seglam(tmp_path, embedder):
    """open_(drafts, rechecker=None, **settings) -> (Seglam, ScriptedSynthesizer), closed after the test."""
    opened = []

    def open_(drafts, rechecker=None, **settings):
        # The graph's retries are tested with up to three drafts a request; the product gives a
        # new kind one (Settings.max_attempts), which test_graph checks as it is.
        settings.setdefault("max_attempts", 3)
        synthesizer = ScriptedSynthesizer(list(drafts))
        seglam = Seglam.open(tmp_path / "home", synthesizer=synthesizer, rechecker=rechecker, embedder=embedder,
                             settings=Settings(**settings))
        opened.append(seglam)
        return seglam, synthesizer

    yield open_
    for seglam in opened:
        seglam.close()
