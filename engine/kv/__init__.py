"""KV cache policies: which tokens each layer keeps when a sequence outgrows the cache budget.

Pure and backend-independent (index arrays only), so a torch cache, a benchmark or a test can
apply them alike. See README.md in this folder for the ladder layout.
"""
from .ladder import LadderPolicy, LadderShape
from .policy import FullPolicy, KVPolicy, KVPolicyError
from .streaming import StreamingPolicy

__all__ = ["FullPolicy", "KVPolicy", "KVPolicyError", "LadderPolicy", "LadderShape", "StreamingPolicy"]
