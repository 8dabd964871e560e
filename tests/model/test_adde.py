import dataclasses

import torch

from fashionrec.model.adde import ADDE, ADDEConfig
from fashionrec.model.backbone import BackboneConfig, ResNetBackbone
from fashionrec.model.baselines import ABLATIONS, ablated, amnet_like
from fashionrec.model.training import TrainConfig
from fashionrec.vocab import Vocabulary

VOCAB = Vocabulary.from_mapping({"category": ["a", "b"], "color": ["r", "g", "b"], "pattern": ["x", "y", "z", "w"]})
SMALL = ADDEConfig(attribute_dim=6, hidden_dim=10, image_size=16, backbone=BackboneConfig(width=4, blocks=(1, 1)))


def test_backbone_layout_follows_the_config():
    resnet18 = ResNetBackbone(BackboneConfig(width=8))
    assert [len(stage) for stage in resnet18.stages] == [2, 2, 2, 2]
    assert resnet18(torch.zeros(2, 3, 32, 32)).shape == (2, 64)
    imagenet = ResNetBackbone(BackboneConfig(width=4, imagenet_stem=True))
    assert imagenet(torch.zeros(1, 3, 128, 128)).shape == (1, 32)


def test_shapes_follow_the_vocabulary():
    model = ADDE(VOCAB, SMALL)
    enc = model(torch.randn(5, 3, 16, 16))
    assert enc.chunks.shape == (5, 3, 6)
    assert enc.whole.shape == (5, 18)
    assert [lg.shape[1] for lg in enc.logits] == [2, 3, 4]
    assert model.memory.weight.shape == (18, 9)
    assert model.outfit_vectors(torch.randn(5, 3, 16, 16)).shape == (5, SMALL.outfit.outfit_dim)
    assert model.attribute_vectors(enc.chunks, 1).shape == (5, 6)


def test_each_classifier_reads_only_its_own_chunk():
    model = ADDE(VOCAB, SMALL).eval()
    enc = model(torch.randn(2, 3, 16, 16))
    chunks = enc.chunks.detach().clone().requires_grad_(True)
    model.classifiers[1](chunks[:, 1]).sum().backward()
    assert chunks.grad[:, [0, 2]].abs().sum() == 0 and chunks.grad[:, 1].abs().sum() > 0


def test_the_baseline_has_one_global_embedding_and_a_full_memory():
    config = amnet_like(TrainConfig(model=SMALL))
    model = ADDE(VOCAB, config.model)
    enc = model(torch.randn(3, 3, 16, 16))
    assert enc.whole.shape == (3, 18)
    assert model.attribute_vectors(enc.chunks, 2).shape == (3, 18)
    assert model.memory.mask.min() == 1.0
    assert config.weights.attribute_triplet == config.weights.consistency == config.weights.memory == 0.0


def test_config_round_trips_through_json():
    assert ADDEConfig.from_json(SMALL.to_json()) == SMALL


def test_each_ablation_zeroes_exactly_one_loss_weight():
    base = TrainConfig()
    for term in ABLATIONS:
        weights = dataclasses.asdict(ablated(base, term).weights)
        changed = {k for k, v in weights.items() if v != getattr(base.weights, k)}
        assert changed == {term} and weights[term] == 0.0
