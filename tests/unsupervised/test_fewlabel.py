"""Few-label prototypes, the artifact export and the evaluation table on tiny inputs."""

import dataclasses

import numpy as np
import pytest
import torch

from fashionrec.artifact import load_artifact
from fashionrec.data.queries import AttributeChange, ManipulationQuery
from fashionrec.model.backbone import BackboneConfig
from fashionrec.model.checkpoint import load_model
from fashionrec.model.inference import Encoder
from fashionrec.unsupervised import fewlabel
from fashionrec.unsupervised.evaluation import evaluate_unsupervised, latents_of, nn_map, table_markdown
from fashionrec.unsupervised.models import UnsupervisedConfig, UnsupervisedModel
from fashionrec.unsupervised.training import encode_latents, load_unsupervised, train_unsupervised
from fashionrec.vocab import Attribute, Vocabulary

VOCAB = Vocabulary((Attribute("category", ("a", "b")), Attribute("color", ("red", "blue", "green"))))


def test_prototypes_are_centred_per_value_means_placed_as_asked():
    # 4 labelled items, n = 2 chunks of d = 1.
    latents = np.array([[[1.0], [10.0]], [[3.0], [20.0]], [[5.0], [30.0]], [[7.0], [40.0]]])
    labels = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    full = fewlabel.few_label_prototypes(latents, labels, VOCAB, "full")
    # category a: mean (2, 15) − overall mean (4, 25) = (−2, −10); b: (+2, +10)
    assert full[:, 0].tolist() == [-2.0, -10.0]
    assert full[:, 1].tolist() == [2.0, 10.0]
    # color red: mean (3, 20) − (4, 25) = (−1, −5); blue (+1, +5); green: nobody labelled → 0
    assert full[:, 2].tolist() == [-1.0, -5.0]
    assert full[:, 3].tolist() == [1.0, 5.0]
    assert full[:, 4].tolist() == [0.0, 0.0]
    block = fewlabel.few_label_prototypes(latents, labels, VOCAB, "block")
    assert block[:, 0].tolist() == [-2.0, 0.0]  # category lives in chunk 0 only
    assert block[:, 3].tolist() == [0.0, 5.0]  # color in chunk 1 only


def test_ridge_prototypes_recover_an_additive_code():
    rng = np.random.default_rng(0)
    labels = np.stack([rng.integers(0, 2, 400), rng.integers(0, 3, 400)], 1)
    true = np.array([[0.0, 4.0, 0.0, 1.0, -2.0], [1.0, -1.0, 3.0, 0.0, 0.0]])  # (n·d = 2, S = 5)
    onehot = np.zeros((400, 5))
    onehot[np.arange(400), labels[:, 0]] = 1
    onehot[np.arange(400), 2 + labels[:, 1]] = 1
    latents = (onehot @ true.T + 5.0).reshape(400, 2, 1)
    m = fewlabel.few_label_prototypes(latents, labels, VOCAB, "ridge")
    # Differences between values of one attribute are what manipulation uses: M·(e_t − e_s).
    assert m[:, 1] - m[:, 0] == pytest.approx(true[:, 1] - true[:, 0], abs=0.05)
    assert m[:, 4] - m[:, 2] == pytest.approx(true[:, 4] - true[:, 2], abs=0.05)


def test_labelled_subset_sizes():
    rows = np.arange(1000)
    assert len(fewlabel.labelled_subset(rows, 0.001, 0)) == 1
    assert len(fewlabel.labelled_subset(rows, 0.1, 0)) == 100
    assert len(fewlabel.labelled_subset(rows, 0.0, 0)) == 0
    assert fewlabel.labelled_subset(rows, 1.0, 0).tolist() == rows.tolist()


def test_manipulation_hits_follow_the_prototype_direction():
    # Gallery in 2-D: item 0 is the reference (category a, red); item 1 has the target
    # labels (b, red) and lies where r + m_b − m_a points; item 2 is a decoy near r.
    whole = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]], np.float32)
    labels = np.array([[0, 0], [1, 0], [0, 1]])
    m = np.zeros((2, 5), np.float32)
    m[:, 1] = [0.0, 2.0]  # prototype of category b
    m[:, 0] = [1.0, 0.0]  # prototype of category a
    query = ManipulationQuery(reference=0, changes=(AttributeChange(0, 0, 1),), target_labels=(1, 0))
    assert fewlabel.manipulation_hits(whole, labels, m, [query], VOCAB, ks=(1,))["hit@1"] == 1.0
    assert fewlabel.manipulation_hits(whole, labels, np.zeros_like(m), [query], VOCAB, ks=(1,))["hit@1"] == 0.0


def test_linear_probe_separates_separable_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = np.eye(3)[y] * 5 + rng.normal(0, 0.3, (300, 3))
    probe = fewlabel.fit_linear_probe(x, y, 4)  # class 3 absent: never predicted
    pred = fewlabel.probe_predict(x, probe)
    assert (pred == y).mean() > 0.98 and not (pred == 3).any()


def test_nn_map_by_hand():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    values = np.array([0, 0, 1, 0])
    # query 0: ranking 1 (rel), 3 (rel), 2 → relevant R = 2, AP@2 = (1 + 1)/2 = 1
    # query 2: ranking 3 (not rel), 1, 0 → R = 0 → left out
    assert nn_map(vectors, values, np.array([0, 2]), k=2) == pytest.approx(1.0)
    # query 3 (value 0): ranking 2 (no), 1 (yes) → AP@2 = (1/2)/min(2, 2) = 0.25
    assert nn_map(vectors, values, np.array([3]), k=2) == pytest.approx(0.25)


TINY = dict(epochs=1, batch_size=32, image_size=16, chunk_dim=4, hidden_dim=16, decoder_width=8,
            backbone=BackboneConfig(width=4, blocks=(1, 1, 1, 1), stem_stride=2))


@pytest.mark.parametrize("method", ["ae", "beta-vae", "beta-tcvae", "mixing"])
def test_tiny_training_writes_weights_pictures_and_a_servable_artifact(catalog, tmp_path, method):
    torch.manual_seed(0)
    config = UnsupervisedConfig(method=method, n_chunks=len(catalog.vocabulary.attributes), **TINY)
    result = train_unsupervised(catalog, tmp_path, config, progress=False, log=lambda _: None)
    assert len(result.history) == 1 and np.isfinite(result.history[0]["loss"])
    assert (tmp_path / "epoch_00.png").exists() and (tmp_path / "epoch_01.png").exists()
    model = load_unsupervised(tmp_path)
    z = encode_latents(model, catalog.images[:10])
    assert z.shape == (10, config.n_chunks, config.chunk_dim)
    summary = fewlabel.export_artifact(model, catalog, tmp_path, fraction=0.1, seed=0)
    assert summary["labelled_items"] == round(0.1 * len(catalog.indices("train")))
    # The artifact is an ordinary model: load_model / Encoder give the same latents.
    loaded, spec = load_model(tmp_path)
    assert spec.whole_dim == config.latent_dim
    encoded = Encoder(loaded, spec, torch.device("cpu")).encode(catalog.images[:10])
    assert encoded.attributes == pytest.approx(z, abs=1e-4)
    assert latents_of(tmp_path, catalog.images[:10], config.n_chunks) == pytest.approx(z, abs=1e-5)
    assert latents_of(None, catalog.images[:3], config.n_chunks).shape[:2] == (3, config.n_chunks)
    assert encoded.labels.shape == (10, config.n_chunks)
    # What the index and query services read (no torch): spec, M, outfit form.
    artifact = load_artifact(tmp_path)
    assert artifact.prototypes.shape == (config.latent_dim, catalog.vocabulary.total_values)
    assert artifact.spec.version == summary["version"]


def test_evaluation_table_on_random_latents(catalog):
    rows = np.arange(len(catalog))
    rng = np.random.default_rng(0)
    n = len(catalog.vocabulary.attributes)
    # "oracle": chunk a holds a one-hot of attribute a's value → perfect, disentangled.
    oracle = np.zeros((len(rows), n, 12))
    for a in range(n):
        oracle[rows, a, catalog.labels[rows, a]] = 1.0
    oracle += rng.normal(0, 0.01, oracle.shape)
    result = evaluate_unsupervised({"noise": rng.normal(size=(len(rows), n, 4)), "oracle": oracle}, catalog, rows,
                                   queries_per_attribute=50)
    o, r = result["methods"]["oracle"], result["methods"]["noise"]
    assert o["summary"]["nn_map_avg"] > 0.95 and o["summary"]["probe_avg"] > 0.9
    assert o["best_chunk"] == {a.name: i for i, a in enumerate(catalog.vocabulary.attributes)}
    assert o["summary"]["leakage_own"] > o["summary"]["leakage_others"] + 0.3
    assert r["summary"]["nn_map_avg"] < o["summary"]["nn_map_avg"]
    assert "| oracle |" in table_markdown(result)


def test_a_rerun_with_the_same_settings_continues(catalog, tmp_path):
    config = UnsupervisedConfig(method="ae", n_chunks=len(catalog.vocabulary.attributes), **TINY)
    train_unsupervised(catalog, tmp_path, config, progress=False, log=lambda _: None)
    more = dataclasses.replace(config, epochs=2)
    result = train_unsupervised(catalog, tmp_path, more, progress=False, log=lambda _: None)
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert (tmp_path / "epoch_02.png").exists()
