import numpy as np
import pytest

from fashionrec.model.evaluation import Embeddings, evaluate, model_embeddings, top_k
from fashionrec.vocab import UNKNOWN


def _perfect(catalog) -> Embeddings:
    """One-hot chunks per value and those one-hots as prototypes: a perfectly disentangled model."""
    vocab, labels = catalog.vocabulary, catalog.labels
    n, d = len(vocab.attributes), max(len(a.values) for a in vocab.attributes)
    attributes = np.zeros((len(labels), n, d), np.float32)
    prototypes = np.zeros((n * d, vocab.total_values), np.float32)
    for a, attribute in enumerate(vocab.attributes):
        known = labels[:, a] != UNKNOWN
        attributes[np.flatnonzero(known), a, labels[known, a]] = 1.0
        for v in range(len(attribute.values)):
            prototypes[a * d + v, vocab.offsets[a] + v] = 1.0
    log_probs = np.full((len(labels), vocab.total_values), -6.9, np.float32)
    for a in range(n):
        known = labels[:, a] != UNKNOWN
        log_probs[np.flatnonzero(known), vocab.offsets[a] + labels[known, a]] = 0.0
    return Embeddings(attributes=attributes, whole=attributes.reshape(len(labels), -1),
                      outfit=attributes.reshape(len(labels), -1), prototypes=prototypes,
                      outfit_bilinear=np.eye(n * d, dtype=np.float32), log_probs=log_probs)


def test_top_k_is_exact_cosine_search_without_the_query_itself():
    gallery = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.1]])
    queries = np.array([[2.0, 0.0], [0.0, 1.0]])
    assert top_k(queries, gallery, 3).tolist() == [[0, 3, 2], [1, 2, 3]]
    assert top_k(queries, gallery, 2, exclude=np.array([0, -1])).tolist() == [[3, 2], [1, 2]]


def test_a_perfectly_disentangled_model_scores_full_marks(tiny_catalog):
    report = evaluate(_perfect(tiny_catalog), tiny_catalog, "test")
    single = report["manipulation_single"]
    assert single["queries"] > 0
    assert single["hit@10"] == single["hit@30"] == single["hit@50"] == 1.0
    assert 0.0 < single["ndcg@30"] <= 1.0
    assert report["conditional_map@10"] == {"category": 1.0, "color": 1.0, "pattern": 1.0}
    dis = report["disentanglement"]
    assert dis["own"] == 1.0 and dis["others"] < 0.8
    assert dis["matrix"]["color"]["color"] == 1.0


def test_a_trained_model_gets_every_figure(tiny_model_dir, tiny_catalog):
    import torch

    from fashionrec.model.checkpoint import load_model
    from fashionrec.model.preprocessing import resize_uint8

    model, spec = load_model(tiny_model_dir)
    emb = model_embeddings(model, resize_uint8(tiny_catalog.images, spec.image_size), torch.device("cpu"))
    report = evaluate(emb, tiny_catalog, "test")
    assert set(report) >= {"manipulation_single", "manipulation_multi", "conditional_map@10", "outfit",
                           "disentanglement"}
    outfit = report["outfit"]
    assert outfit["fitb_questions"] > 0 and 0.0 <= outfit["fitb"] <= 1.0
    assert outfit["recall@10"] <= outfit["recall@30"] <= outfit["recall@50"]
    for value in report["conditional_map@10"].values():
        assert 0.0 <= value <= 1.0
    assert report["manipulation_single"]["hit@10"] == pytest.approx(
        report["manipulation_single"]["hit@10"])  # a float, not NaN
