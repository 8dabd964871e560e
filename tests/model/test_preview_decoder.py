"""The preview decoder: shapes, the training changes, a tiny run, and its file beside the model."""

import numpy as np
import pytest
import torch

from fashionrec.model.checkpoint import load_model
from fashionrec.model.preview_decoder import DecoderConfig, PreviewDecoder
from fashionrec.model.preview_training import (load_preview_decoder, random_changes, save_preview_decoder,
                                               train_preview_decoder)
from fashionrec.vocab import UNKNOWN, Vocabulary


def test_the_decoder_renders_images_in_the_unit_range():
    decoder = PreviewDecoder(12, DecoderConfig(channels=16, min_channels=4, image_size=16)).eval()
    with torch.no_grad():
        out = decoder(torch.randn(3, 12))
    assert out.shape == (3, 3, 16, 16)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    with pytest.raises(ValueError, match="power of two"):
        PreviewDecoder(12, DecoderConfig(image_size=48))


def test_training_changes_move_one_applicable_attribute_and_never_the_category():
    vocab = Vocabulary.from_mapping({"category": ["top", "shoe"], "color": ["red", "blue", "green"],
                                     "sleeve": ["short", "long", "n/a"]})
    labels = np.array([[0, 0, 0], [1, 2, 2], [1, UNKNOWN, 2]])
    target = random_changes(labels, vocab, np.random.default_rng(0))
    moved = target != labels
    assert (moved.sum(axis=1) == [1, 1, 0]).all()  # the last row has nothing applicable to move
    assert not moved[:, 0].any()
    assert target[1, 2] == 2  # an "n/a" sleeve stays "n/a"
    assert not (moved[:, 2] & (target[:, 2] == 2)).any()  # never moved *to* "n/a"


def test_a_tiny_decoder_trains_saves_and_loads_beside_the_model(tmp_path, tiny_model_dir, tiny_catalog):
    model, spec = load_model(tiny_model_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    logged = []
    decoder = train_preview_decoder(model, tiny_catalog, torch.device("cpu"), epochs=2, batch_size=16,
                                    config=DecoderConfig(channels=16, min_channels=4, image_size=16),
                                    progress=False, log=logged.append)
    assert len(logged) == 2 and logged[0].startswith("preview epoch 1/2")
    for k, v in model.state_dict().items():  # the critic is frozen
        torch.testing.assert_close(v, before[k])
    save_preview_decoder(decoder, tmp_path)
    loaded = load_preview_decoder(tmp_path)
    r = torch.randn(2, spec.whole_dim)
    torch.testing.assert_close(loaded(r), decoder(r))
    assert load_preview_decoder(tmp_path / "elsewhere") is None


def test_the_preview_report_has_every_figure_in_range(tiny_model_dir, tiny_catalog):
    from fashionrec.model.preview_eval import evaluate_preview, train_independent_classifier

    model, _ = load_model(tiny_model_dir)
    decoder = train_preview_decoder(model, tiny_catalog, torch.device("cpu"), epochs=1, batch_size=16,
                                    config=DecoderConfig(channels=16, min_channels=4, image_size=16),
                                    progress=False, log=lambda _: None)
    reader = train_independent_classifier(tiny_catalog, epochs=1, progress=False)
    # Whatever the caller's grad settings, the evaluation records no autograd graph (it once lost its no_grad).
    model.requires_grad_(True)
    grad_enabled: list[bool] = []
    for module in (model, decoder):
        module.register_forward_hook(lambda *_: grad_enabled.append(torch.is_grad_enabled()))
    report = evaluate_preview(model, decoder, tiny_catalog, reader, max_queries=20, progress=False)
    assert grad_enabled and not any(grad_enabled)
    assert report["queries"] > 0
    for group in ("transfer", "preservation", "retrieval_hit@10"):
        for figure in report[group].values():
            assert 0.0 <= figure["mean"] <= 1.0 and figure["n"] == report["queries"]
    assert 0.0 < report["reconstruction"]["l1"]["mean"] < 1.0
