"""The sandbox security suite: the hostile corpus and the process layer on its own."""
