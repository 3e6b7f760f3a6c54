"""Backbones, local descriptors, codebooks and VLAD encodings (step 2)."""
