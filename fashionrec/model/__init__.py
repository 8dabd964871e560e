"""The ADDE model (Hou et al., ICCV 2021) in plain torch: training, evaluation, inference.

    backbone.py    ResNet18-layout image backbone, configurable width
    adde.py        per-attribute heads and classifiers; the AMNet-like baseline variant
    memory.py      prototype memory M, manipulation r' = r + M·i
    outfit.py      outfit head: per-attribute projections, category-pair weights
    losses.py      classification, semi-hard triplets, compositional, consistency,
                   memory and outfit ranking losses
    sampling.py    training batches, manipulation triplets, outfit questions
    training.py    the three stages plus outfit training, resumable
    evaluation.py  exact-search benchmark figures
    baselines.py   baseline (a) and the loss ablations as training configurations
    inference.py   the Encoder the services load
    checkpoint.py  artifact and training-state files
    images.py      uint8 images → model input
    device.py      CPU/CUDA choice, autocast, channels_last

See docs/model.md.
"""
