"""The language layer on its own (issue 28, item 6): every hostile procedure of the corpus gets
the same typed outcome from a worker that skips the process layer as from a confined one. A
payload that only the process layer stopped (an OS refusal of something layer 1 let run) is a
layer-1 bug, and fails here.

The workers keep the per-run CPU budget and memory limit and a zero file-size limit (so a
layer-1 bug cannot write on this machine), and drop the rest: network namespace, unprivileged
user, Landlock, seccomp, no new processes."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from sandbox import Sandbox, channel

from .corpus import HOSTILE
from .test_corpus import LIMITS

LAYER_ONE_BOOT = channel.BOOT.replace(
    "from sandbox.worker import main",
    "import sandbox.confine as c; c.confine = lambda cap: {'rlimits': c.limit_resources(cap)}; "
    "c.confine_run = lambda rules: None; from sandbox.worker import main")


@pytest.fixture(scope="module")
def layer_one():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(channel, "BOOT", LAYER_ONE_BOOT)
        with Sandbox(workers=2, limits=LIMITS) as sandbox:
            yield sandbox


def test_the_workers_here_really_skip_the_process_layer(layer_one):
    assert set(layer_one.protections) == {"rlimits"}


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_layer_one_alone_gives_each_hostile_procedure_its_typed_error(layer_one, case):
    limits = replace(LIMITS, cpu_s=case.cpu_s, wall_s=case.cpu_s + 1) if case.cpu_s else LIMITS
    started = time.monotonic()
    with pytest.raises(case.outcome, match=case.message):  # stopped without the process layer
        layer_one.run(case.code, {}, namespace="layer-one", limits=limits)
    assert time.monotonic() - started <= limits.wall_s + 1
