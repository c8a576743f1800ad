"""The graph's nodes, one module each. Every node is `(state, runtime) -> (update, decision)`:
the state update, and one line saying what it decided, which the graph records in the trace."""
