"""The comparisons the full model is measured against, as training configurations.

(a) `amnet_like`: the same backbone and budget, one global embedding trained on all
    labels (classification + full-label triplet), manipulated by learned per-value
    offsets (a full, not block-diagonal, memory): no disentanglement.
(b) `ablated(config, term)`: the full model without one loss term (paper Table 1).
"""

from __future__ import annotations

import dataclasses

from fashionrec.errors import InvalidArgument
from fashionrec.model.training import LossWeights, TrainConfig

ABLATIONS = tuple(f.name for f in dataclasses.fields(LossWeights))


def amnet_like(config: TrainConfig) -> TrainConfig:
    # Per-attribute triplets, consistency with prototypes and the block-diagonal memory
    # loss only make sense for a disentangled representation.
    weights = dataclasses.replace(config.weights, attribute_triplet=0.0, consistency=0.0, memory=0.0)
    return dataclasses.replace(config, model=dataclasses.replace(config.model, disentangled=False), weights=weights)


def ablated(config: TrainConfig, term: str) -> TrainConfig:
    if term not in ABLATIONS:
        raise InvalidArgument.for_field("ablate", f"unknown loss term {term!r}; known: {', '.join(ABLATIONS)}")
    return dataclasses.replace(config, weights=dataclasses.replace(config.weights, **{term: 0.0}))
