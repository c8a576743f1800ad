"""The request graph (docs/design.md), one pass per request:

    START -> lookup --hit--> execute --ok--> respond -> END
               |                |--error, next candidate--> execute
               |                '--error--> retrieve
               |--gray zone--> confirm --yes--> execute
               |                  |--no, ask next--> confirm
               |                  '--no--> retrieve
               '--miss--> retrieve -> synthesize -> verify --pass--> commit -> respond
                            |   ^        |   ^        |--disputed--> recheck --> verify
                            |   |        |   |        |--give up--> respond
                            |   |        |   '--------'--retry, with the failure
                            |   |        '--refused (given up on before)--> respond
                            '---'--waited for the namespace's synthesis turn--> lookup
    With synthesis off (audits, dry runs) no model runs: a miss or a gray zone goes
    straight to respond, unanswered.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from ..types import TraceStep
from .nodes.commit import commit
from .nodes.confirm import after_confirm, confirm
from .nodes.execute import after_execute, execute
from .nodes.lookup import after_lookup, lookup
from .nodes.recheck import recheck
from .nodes.respond import respond
from .nodes.retrieve import after_retrieve, retrieve
from .nodes.synthesize import after_synthesize, synthesize
from .nodes.verify import after_verify, verify
from .state import Context, State

log = logging.getLogger("seglam")


def traced(name: str, node: Callable) -> Callable:
    """Record the node's time and decision in the trace, so every result explains itself."""

    def run(state: State, runtime: Runtime[Context]) -> dict:
        started = time.perf_counter()
        update, decision = node(state, runtime)
        ms = (time.perf_counter() - started) * 1000
        log.info("%s (%.0f ms): %s", name, ms, decision)
        return {**update, "trace": [TraceStep(name, round(ms, 3), decision, update.get("model_calls", 0))]}

    run.__name__ = name
    return run


def build_graph():
    graph = StateGraph(State, context_schema=Context)
    for name, node in [
        ("lookup", lookup),
        ("confirm", confirm),
        ("execute", execute),
        ("retrieve", retrieve),
        ("synthesize", synthesize),
        ("verify", verify),
        ("recheck", recheck),
        ("commit", commit),
        ("respond", respond),
    ]:
        graph.add_node(name, traced(name, node))

    graph.add_edge(START, "lookup")
    graph.add_conditional_edges(
        "lookup",
        after_lookup,
        {"hit": "execute", "gray zone": "confirm", "miss": "retrieve", "miss, synthesis off": "respond"},
    )
    graph.add_conditional_edges(
        "confirm", after_confirm, {"confirmed": "execute", "ask next": "confirm", "miss": "retrieve"}
    )
    graph.add_conditional_edges(
        "execute",
        after_execute,
        {
            "ok": "respond",
            "error, next candidate": "execute",
            "error, synthesize": "retrieve",
            "error, synthesis off": "respond",
        },
    )
    graph.add_conditional_edges("retrieve", after_retrieve, {"synthesize": "synthesize", "look again": "lookup"})
    graph.add_conditional_edges("synthesize", after_synthesize, {"verify": "verify", "refused": "respond"})
    graph.add_conditional_edges(
        "verify", after_verify, {"pass": "commit", "recheck": "recheck", "retry": "synthesize", "give up": "respond"}
    )
    graph.add_edge("recheck", "verify")
    graph.add_edge("commit", "respond")
    graph.add_edge("respond", END)
    return graph.compile()
