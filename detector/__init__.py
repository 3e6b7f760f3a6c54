"""Faster R-CNN for `logo` and `album` boxes (step 1 of the pipeline)."""
