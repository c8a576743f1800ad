"""The request graph: typed state, the run context, one module per node (nodes/)."""
from .builder import build_graph
from .state import Context, State

__all__ = ["Context", "State", "build_graph"]
