"""What flows through the graph (typed state) and what every node may use (run context)."""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from sandbox import Sandbox

from ..matching.memo import LookupMemo
from ..storage.embed import Embedder
from ..storage.knowledge import KnowledgeBase
from ..storage.store import Candidate, ProcedureStore
from ..prompts.confirmer import Confirmer
from ..prompts.rechecker import Questions, Rechecker
from ..prompts.rewording import Rewording
from ..prompts.synthesizer import Retrieved, Synthesizer
from ..settings import Settings
from .turns import Turn
from ..types import JSON, Draft, Procedure, Request, Route, TraceStep


@dataclass
class Context:
    """The run's dependencies, handed to every node by LangGraph (no globals)."""

    store: ProcedureStore
    knowledge: KnowledgeBase
    embedder: Embedder
    sandbox: Sandbox
    synthesizer: Synthesizer
    settings: Settings
    memo: LookupMemo = field(default_factory=LookupMemo)  # lookup's decisions per kind of request
    confirmer: Confirmer | None = None  # None: the gray zone is a miss
    rechecker: Rechecker | None = None  # None: a disputed expected answer fails verification
    rewording: Rewording | None = None  # None: procedures added by hand keep the wordings they bring


class State(TypedDict, total=False):
    # Set by the caller:
    request: Request
    synthesis_allowed: bool
    turn: Turn  # this request's turn to synthesize in its namespace (graph/turns.py)
    # Set by the nodes:
    task_vector: list[float]  # the task's embedding, made once by lookup
    candidates: list[Candidate]  # lookup's ranked hits still to try
    unconfirmed: list[Candidate]  # gray-zone candidates the model has not been asked about
    declined: list[str]  # gray-zone candidates the model did not confirm, as a user reads them
    failed: list[str]  # ids of procedures that failed or had no answer: not tried again
    failures: list[str]  # why each cached procedure that failed on this request failed
    procedure: Procedure | None  # the procedure that answered (or is being committed)
    answer: JSON
    look_again: bool  # the synthesis turn came after another synthesis: the store may have changed
    retrieved: Retrieved
    refused: str | None  # why synthesis was not even tried
    draft: Draft | None
    alternatives: list[Draft]  # the other drafts the same synthesis call brought (nodes/verify.py picks)
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
