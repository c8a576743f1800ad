"""What flows through the graph (typed state) and what every node may use (run context)."""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from sandbox import Limits, Sandbox

from .embed import Embedder
from .knowledge import KnowledgeBase
from .store import Candidate, ProcedureStore
from .confirmer import Confirmer
from .rechecker import Questions, Rechecker
from .synthesizer import Retrieved, Synthesizer
from .types import JSON, Draft, Procedure, Request, Route, TraceStep


@dataclass(frozen=True)
class Settings:
    """Tunable behaviour; every threshold here is meant to be calibrated on a workload."""

    # Cosine similarity of the task to a procedure's nearest key at or above which a
    # procedure whose params fit is run without asking the model (sure hit)...
    hit_similarity: float = 0.83
    # ...and at or above which, below the sure hit, the model is asked first (gray zone).
    # Below it: a miss. Measured with the real 1.5B confirmer on bench/cache's workload
    # (bench/results/cache.md, reference_confirm): from 0.30 with 3 confirmations a request,
    # 95.9% of requests of seen families hit, against 93.6% from 0.50 with 2, for 3.03 model
    # calls a family instead of 2.85; 0 false hits either way, on the stream and on the 54
    # outsider requests (58 confirmations asked for them, every one answered no).
    confirm_similarity: float = 0.30
    # From this similarity up (below the sure hit; None turns it off), a candidate is run
    # without asking when the request names exactly the operation, order, field... of one of
    # its verified texts, the same columns, and no word its known texts do not explain
    # (guards.words_agree): German, French and terse requests that MiniLM puts far from
    # English keys. On bench/cache it lifts the hit rate on seen families from 78% to 88% with
    # no false hit; of 54 requests for tasks the workload lacks, worded with its terms, none gets
    # a procedure through it (bench/results/calibration.md).
    agree_similarity: float | None = 0.2
    # A sure hit whose request has a word no known text of the procedure explains ("extract the
    # tax rate", texts about the tax amount) is asked of the model first (gray zone) instead.
    sure_hit_needs_known_words: bool = True
    confirms_per_request: int = 3
    candidates: int = 8
    # A procedure that fails (raises, times out, breaks its return type) this many runs in a
    # row is quarantined: no longer offered until a person fixes or restores it.
    quarantine_after_failures: int = 3
    max_attempts: int = 3
    # Tests of a synthesized draft with inputs of their own (besides the request check, which
    # always runs); a test that restates the request does not count.
    min_independent_tests: int = 2
    # A model's expected numbers are its own mental arithmetic: the 1.5B model has written
    # 185.05 * 0.086 "= 15.84" and, another time, "= 15.74" (15.91; 1.1% off); the code is
    # exact. Within this relative tolerance they agree; a wrong procedure (a rate applied the
    # wrong way, the subtotal for the total) is off by far more. Hand-written tests are exact.
    model_numbers_rel_tol: float = 0.03
    # After synthesis gave up this often on one kind of request (same namespace, task text
    # and input names), later misses of that kind answer with an error instead of calling
    # the model again: a batch of thousands must not pay three model calls per document for
    # a task the model cannot do. `seglam procedures forget-failures` resets it.
    synthesis_failures_per_kind: int = 2
    limits: Limits = field(default_factory=Limits)
    example_procedures: int = 2
    knowledge_passages: int = 2


@dataclass
class Context:
    """The run's dependencies, handed to every node by LangGraph (no globals)."""

    store: ProcedureStore
    knowledge: KnowledgeBase
    embedder: Embedder
    sandbox: Sandbox
    synthesizer: Synthesizer
    settings: Settings
    confirmer: Confirmer | None = None  # None: the gray zone is a miss
    rechecker: Rechecker | None = None  # None: a disputed expected answer fails verification


class State(TypedDict, total=False):
    request: Request
    synthesis_allowed: bool
    candidates: list[Candidate]  # lookup's ranked hits still to try
    unconfirmed: list[Candidate]  # gray-zone candidates the model has not been asked about
    failed: list[str]  # ids of procedures that failed or had no answer: not tried again
    procedure: Procedure | None  # the procedure that answered (or is being committed)
    answer: JSON
    retrieved: Retrieved
    draft: Draft | None
    draft_meta: dict[str, Any]  # model id, prompt sha256 of the current draft
    questions: Questions | None  # what verify asks a second opinion about, for the current draft
    against_code: list[str]  # second opinions that side with the draft's author against its code
    rechecked: bool  # whether the current draft had its second opinion
    feedback: list[str]  # why earlier drafts failed, fed back to the synthesizer
    attempts: int
    route: Route
    error: str | None
    trace: Annotated[list[TraceStep], operator.add]
    model_calls: Annotated[int, operator.add]
