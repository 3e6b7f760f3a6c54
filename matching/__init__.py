"""Nearest-reference search, geometric verification and the index bundle (step 3)."""
