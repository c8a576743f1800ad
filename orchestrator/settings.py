"""Tunable behaviour of a Seglam. Every threshold is calibrated on a workload: the figures behind
each default, with their date and commit, are in bench/results/ (cache.md, calibration.md)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sandbox import Limits


@dataclass(frozen=True)
class Settings:
    """How lookup, synthesis and admission behave. See docs/design.md for what each zone means."""

    # Cosine similarity of the task to a procedure's nearest key at or above which a procedure
    # whose params fit is run without asking the model (sure hit)...
    hit_similarity: float = 0.83
    # ...and at or above which, below the sure hit, the model is asked first (gray zone).
    # Below it: a miss.
    confirm_similarity: float = 0.30
    # From this similarity up (below the sure hit; None turns it off), a candidate is run
    # without asking when the request names exactly the operation, order, field... of one of
    # its verified texts, the same columns, and no word its known texts do not explain
    # (matching.guards.words_agree): German, French and terse requests that the embedder puts
    # far from English keys.
    agree_similarity: float | None = 0.2
    # A sure hit whose request has a word no known text of the procedure explains ("extract the
    # tax rate", texts about the tax amount) is asked of the model first (gray zone) instead.
    sure_hit_needs_known_words: bool = True
    confirms_per_request: int = 3
    candidates: int = 8
    # A procedure that fails (raises, times out, breaks its return type) this many runs in a
    # row is quarantined: no longer offered until a person fixes or restores it.
    quarantine_after_failures: int = 3
    # Drafts a new kind gets (each a synthesis call, then verification and its second opinions).
    # One: in three model runs over 34 kinds (bench/results/cache.md: model, model@all-e722412,
    # model@all), every kind verified was verified on its first draft, and the second and third
    # drafts of the 26 kinds given up on admitted nothing right (one wrong procedure) at about a
    # minute each. A larger model may answer feedback better: raise it there.
    max_attempts: int = 1
    # A document that the cached procedures of its kind failed or had no answer for gets this
    # many drafts, without a second opinion: its own bounded chance. On SROIE such chances
    # almost never produced a procedure (bench/results/documents.md) and cost 3-11 model calls
    # each at max_attempts.
    max_attempts_after_cached: int = 1
    # Tests of a synthesized draft with inputs of their own (besides the request check, which
    # always runs); a test that restates the request does not count.
    min_independent_tests: int = 2
    # A model's expected numbers are its own mental arithmetic and can be slightly off; the code
    # is exact. Within this relative tolerance they agree; a wrong procedure (a rate applied
    # the wrong way, the subtotal for the total) is off by far more. Hand-written tests are exact.
    model_numbers_rel_tol: float = 0.03
    # Second opinions one draft may ask for (admission/second_opinions.py), the request's own
    # disputed answer first: a draft that needs more is seldom right, and each one over a list
    # of records costs as much as a tenth of a synthesis.
    max_second_opinions: int = 3
    # After synthesis gave up this often on one request (same namespace, task and inputs),
    # running it again answers with its last problem instead of calling the model: a rerun of
    # a batch does not pay again for the documents the model could not do. Other documents of
    # the same kind still get their chance. `seglam procedures forget-failures` resets it.
    synthesis_failures_per_request: int = 1
    # After synthesis gave up on this many requests of one kind that nothing cached answers
    # (namespace, task text, input names and types), later requests of the kind answer with the
    # last problem instead of calling the model (the demo's 48 documents once cost 3 attempts
    # each). A document whose kind has procedures still gets its own chance.
    synthesis_failures_per_kind: int = 2
    # The token budget of one synthesis reply (code, then the JSON with tests). A reply cut at it
    # is no draft; the model is told to keep its tests short (no copies of the inputs).
    synthesis_max_tokens: int = 1200
    # Drafts one synthesis call asks for, decoded together where the engine can (the llama
    # backend's chat_many): verification admits the first that passes, most agreed-with first.
    # None: what pays on the engine's device (engine.device.DRAFTS_PER_CALL_DEFAULT: 1 on a CPU).
    synthesis_candidates: int | None = None
    limits: Limits = field(default_factory=Limits)
    example_procedures: int = 2
    knowledge_passages: int = 2
