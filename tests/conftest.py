from __future__ import annotations

import pytest

from orchestrator.embed import Embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One MiniLM for the whole session: loading it is the slow part of opening a store."""
    return Embedder()
