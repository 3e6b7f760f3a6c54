"""Faster R-CNN for `logo` and `album` boxes (step 1 of the pipeline).

Modules, bottom up: `boxes` (IoU, box encoding, NMS), `anchors`, `config` (the
hyper-parameters saved with a model), `model` (networks, proposals, RoIAlign), `targets`
and `losses` (training targets and the four losses), `data` (VOC folders to inputs,
augmentation), `io` (model files with version checks), `inference` (`Detector`, the
shipped model), `evaluate` (VOC AP, PR curves, latency), `train` (the loop, validation,
checkpoints, random search). Imports only `features` and `data` of this project.
"""
