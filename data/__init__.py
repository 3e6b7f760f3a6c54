"""Datasets: VOC XML I/O, the dataset folder contract, the synthetic photo generator.

This package imports no other package of ours (see ARCHITECTURE.md's layering).
"""
