"""Backbones, local descriptors, codebooks and VLAD encodings (step 2).

- `backbones`: the `Backbone` interface (conv5 feature map, stride 32) shared with the
  detector; EfficientNet-Lite0 (`efficientnet_lite`, weights read offline by
  `torch_checkpoint`) and ResNet50.
- `local`: SIFT / RootSIFT as plain `LocalFeatures` arrays; `dense`: conv5 cells in the
  same format; `images`: the image conversions both share.
- `codebook`, `vlad`, `pca`, `fusion`, `normalize`: k-means codebooks, VLAD, PCA-whitening
  and the fusion of two global vectors.

Nothing is imported here, so using the NumPy-only modules does not load TensorFlow.
Of our packages it may import only `data` (ARCHITECTURE.md's layering).
"""
