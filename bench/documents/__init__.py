"""The documents benchmark: seglam on real scanned receipts (SROIE), as a batch user runs it."""
