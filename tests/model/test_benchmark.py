"""The catalog-scale benchmark (fashionrec.model.benchmark) and `fashionrec eval`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fashionrec.data.synthetic import generate_catalog
from fashionrec.data import queries as q
from fashionrec.data.catalog import Catalog
from fashionrec.items import Item
from fashionrec.model import benchmark as b
from fashionrec.model.benchmark_methods import pairwise_fitb_scores
from fashionrec.model.evaluation import Embeddings, l2_normalise
from fashionrec.vocab import UNKNOWN, Vocabulary

VOCAB = Vocabulary.from_mapping({"category": ["a", "b"], "color": ["r", "g"]})


def _catalog(labels: list[list[int]]) -> Catalog:
    n = len(labels)
    return Catalog(vocabulary=VOCAB, images=np.zeros((n, 2, 2, 3), np.uint8), labels=np.array(labels),
                   items=[Item(f"s{i}", "a", price=1.0, currency="EUR") for i in range(n)],
                   splits=np.array(["test"] * n), outfits=[])


def _log_probs(predicted: list[list[int]], sure: float = -0.01) -> np.ndarray:
    out = np.full((len(predicted), VOCAB.total_values), -6.9, np.float32)
    for i, row in enumerate(predicted):
        for a, v in enumerate(row):
            out[i, VOCAB.offsets[a] + v] = sure
    return out


def test_manipulation_methods_rank_as_their_formulas_say() -> None:
    # Query: item 0 (a, r), change color r → g; the target (a, g) is items 1 and 3.
    catalog = _catalog([[0, 0], [0, 1], [1, 1], [0, 1]])
    whole = np.array([[1.0, 1.0], [1.0, -0.9], [0.5, -1.0], [1.0, 0.9]], np.float32)
    prototypes = np.zeros((2, 4), np.float32)
    prototypes[1, 2], prototypes[1, 3] = 1.0, -1.0  # M·i = (0, −2): r' = (1, −1)
    # Item 1 is predicted red (wrong), item 2 (b, g) and item 3 (a, g) correctly.
    emb = Embeddings(attributes=whole.reshape(4, 2, 1), whole=whole, outfit=np.zeros((4, 2), np.float32),
                     prototypes=prototypes, outfit_bilinear=np.eye(2, dtype=np.float32),
                     log_probs=_log_probs([[0, 0], [0, 0], [1, 1], [0, 1]]))
    query = q.ManipulationQuery(0, (q.AttributeChange(1, 0, 1),), (0, 1))
    gallery = b.prepare_gallery(emb, catalog, np.arange(4))
    rng = np.random.default_rng(0)
    small = b.manipulation_rankings(emb, catalog, gallery, [query], beta=0.0, rng=rng, k=3)
    strong = b.manipulation_rankings(emb, catalog, gallery, [query], beta=1.0, rng=rng, k=3)
    # cos to r' = (1, −1): item 1 0.997, item 2 0.949, item 3 0.037; the reference never comes back.
    assert small[b.BETA_ZERO].tolist() == [[1, 2, 3]]
    assert small[b.MODEL].tolist() == [[1, 2, 3]]  # β = 0: the model row is the composed query
    assert small[b.CHANGE_IGNORED].tolist() == [[3, 1, 2]]  # cos to r_0 = (1, 1)
    # Σ log p(target): item 3 −0.02; items 1 and 2 each miss one target value (−6.91).
    assert small[b.CLASSIFIER_SOFT][0, 0] == 3
    assert small[b.HARD_FILTER].tolist() == [[3, -1, -1]]  # only item 3 is predicted (a, g)
    # β = 1: 0.037 − 0.02 beats 0.997 − 6.91 and 0.949 − 6.91.
    assert strong[b.MODEL].tolist() == [[3, 1, 2]]
    assert sorted(small[b.RANDOM][0].tolist()) == [1, 2, 3]
    figures, per_query = b.manipulation_figures(small[b.HARD_FILTER], gallery.labels, [query], ks=(1, 3))
    assert figures["hit@1"] == {"mean": 1.0, "se": 0.0, "n": 1}
    # Hidden styles: item 3 (the only label match) is of another style than the reference.
    styles = np.array([2, 2, 2, 1])
    kept, _ = b.manipulation_figures(small[b.HARD_FILTER], gallery.labels, [query], (1,), styles, styles[[0]])
    assert kept["hit@1"]["mean"] == 1.0 and kept["style hit@1"]["mean"] == kept["style hit@3"]["mean"] == 0.0
    same, _ = b.manipulation_figures(small[b.HARD_FILTER], gallery.labels, [query], (1,), styles, np.array([1]))
    assert same["style hit@3"]["mean"] == 1.0


def test_unknown_targets_take_no_part_in_the_posterior_terms() -> None:
    catalog = _catalog([[0, 0], [0, 1], [1, 1]])
    onehot, n_known = b.target_onehot(catalog, np.array([[0, UNKNOWN], [1, 1]]))
    assert onehot.tolist() == [[1, 0, 0, 0], [0, 1, 0, 1]] and n_known.tolist() == [1, 2]


def test_conditional_methods_mix_cosine_and_bhattacharyya() -> None:
    catalog = _catalog([[0, 0], [0, 0], [0, 1], [1, 1]])
    # Color chunks: item 2 (green) is nearest to item 0 (red), item 1 (red) is orthogonal, but
    # item 1 has item 0's posterior.
    chunks = np.array([[[1, 0], [1, 0]], [[1, 0], [0, 1]], [[1, 0], [1, 0.1]], [[1, 0], [-1, 0]]], np.float32)
    emb = Embeddings(attributes=chunks, whole=chunks.reshape(4, 4), outfit=np.zeros((4, 2), np.float32),
                     prototypes=np.zeros((4, 4), np.float32), outfit_bilinear=np.eye(2, dtype=np.float32),
                     log_probs=_log_probs([[0, 0], [0, 0], [0, 1], [1, 1]], sure=-0.1))
    gallery = b.prepare_gallery(emb, catalog, np.arange(4))
    queries = [q.ConditionalQuery(0, 1)]
    out = b.conditional_figures(emb, catalog, gallery, queries, w=0.0, rng=np.random.default_rng(0), k=3)
    # w = 0: item 2 (wrong color) first, item 1 second (the one red item): AP = (1/2) / min(R=1, 3).
    assert out[b.W_ZERO]["color"]["mean"] == pytest.approx(0.5)
    assert out[b.MODEL]["color"]["mean"] == pytest.approx(0.5)
    # Posterior only: item 1 has the same distribution (BC = 1) → rank 1.
    assert out[b.POSTERIOR_ONLY]["color"]["mean"] == pytest.approx(1.0)
    # w = 0.9: item 1 scores 0.9·1, item 2 0.1·1 + 0.9·BC(red, green) ≈ 0.16.
    mixed = b.conditional_figures(emb, catalog, gallery, queries, w=0.9, rng=np.random.default_rng(0), k=3)
    assert mixed[b.MODEL]["color"]["mean"] == pytest.approx(1.0)
    assert mixed[b.MODEL]["mean"]["n"] == 1


def _perfect(catalog: Catalog) -> Embeddings:
    """One-hot chunks and prototypes, posteriors sure of the true labels."""
    vocab, labels = catalog.vocabulary, catalog.labels
    n, d = len(vocab.attributes), max(len(a.values) for a in vocab.attributes)
    attributes = np.zeros((len(labels), n, d), np.float32)
    prototypes = np.zeros((n * d, vocab.total_values), np.float32)
    log_probs = np.full((len(labels), vocab.total_values), -6.9, np.float32)
    for a, attribute in enumerate(vocab.attributes):
        known = np.flatnonzero(labels[:, a] != UNKNOWN)
        attributes[known, a, labels[known, a]] = 1.0
        log_probs[known, vocab.offsets[a] + labels[known, a]] = 0.0
        for v in range(len(attribute.values)):
            prototypes[a * d + v, vocab.offsets[a] + v] = 1.0
    rng = np.random.default_rng(0)
    outfit = rng.normal(size=(len(labels), 4)).astype(np.float32)
    return Embeddings(attributes=attributes, whole=attributes.reshape(len(labels), -1),
                      outfit=outfit / np.linalg.norm(outfit, axis=1, keepdims=True), prototypes=prototypes,
                      outfit_bilinear=np.eye(4, dtype=np.float32), log_probs=log_probs)


def test_a_perfect_model_on_the_whole_catalog() -> None:
    catalog = generate_catalog(300, 5, 32)
    config = b.BenchmarkConfig(max_queries=120, conditional_per_attribute=20, outfit_queries=30,
                               posterior_weight=0.5, similarity_posterior_weight=0.5, progress=False)
    report = b.run_benchmark(_perfect(catalog), catalog, config)
    assert report["gallery_items"] == 300 and report["queries"]["manipulation_single"] == 120
    methods = report["methods"]
    assert list(methods)[0] == b.MODEL
    for m in (b.MODEL, b.BETA_ZERO, b.CLASSIFIER_SOFT):
        assert methods[m]["manipulation_single"]["hit@10"]["mean"] == 1.0
    assert methods[b.HARD_FILTER]["manipulation_pair"]["hit@10"]["mean"] == 1.0
    ignored = methods[b.CHANGE_IGNORED]["manipulation_single"]["hit@10"]
    assert ignored["mean"] < 1.0
    assert ignored["se"] == pytest.approx(math.sqrt(ignored["mean"] * (1 - ignored["mean"]) / 120))
    assert methods[b.RANDOM]["manipulation_single"]["hit@10"]["mean"] < 0.5
    for m in (b.MODEL, b.W_ZERO, b.POSTERIOR_ONLY):
        assert methods[m]["conditional_map@10"]["mean"]["mean"] == pytest.approx(1.0)
    assert set(methods[b.MODEL]["outfit"]) == {"fitb", "fitb_pairs", "recall@10", "recall@50", "recall@100"}
    assert methods[b.RANDOM]["outfit"]["recall@10"]["n"] == report["queries"]["complementary"]
    # The share of each changed attribute is equal (within what the catalog has).
    per = report["per_attribute"]["manipulation_single"][b.MODEL]
    assert set(per) == set(catalog.vocabulary.names)
    accuracy = report["per_attribute"]["classifier_accuracy"]
    assert all(f["mean"] == 1.0 for f in accuracy.values())
    sleeves = catalog.vocabulary.position("sleeve_length")
    na = catalog.vocabulary.attributes[sleeves].values.index("n/a")
    assert accuracy["sleeve_length"]["n"] == int((catalog.labels[:, sleeves] != na).sum()) < 300
    text = b.format_report(report)
    assert "1-attr h@10" in text and "1.000±0.000" in text and "classifier accuracy" in text


def test_eval_command_end_to_end(tiny_model_dir, tiny_catalog, tmp_path, capsys) -> None:
    from fashionrec_cli import main
    from fashionrec.data.catalog import save_catalog

    data = tmp_path / "catalog"
    save_catalog(tiny_catalog, data)
    out = tmp_path / "eval.json"
    code = main(["eval", "--model", str(tiny_model_dir), "--data", str(data), "--json", str(out),
                 "--max-queries", "60", "--conditional-per-attribute", "10", "--outfit-queries", "20",
                 "--posterior-weight", "0.5", "--quiet"])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["gallery"] == "all" and report["gallery_items"] == len(tiny_catalog)
    assert report["posterior_weight"] == 0.5
    methods = report["methods"]
    assert {b.MODEL, b.RANDOM, b.BETA_ZERO, b.CHANGE_IGNORED, b.HARD_FILTER, b.CLASSIFIER_SOFT, b.W_ZERO,
            b.POSTERIOR_ONLY} <= set(methods)
    for figure in methods[b.MODEL]["manipulation_single"].values():
        assert 0.0 <= figure["mean"] <= 1.0 and figure["se"] >= 0.0
    printed = capsys.readouterr().out
    assert "method" in printed and "±" in printed and "hard filter" in printed
    split = tmp_path / "split.json"
    assert main(["eval", "--model", str(tiny_model_dir), "--data", str(data), "--json", str(split),
                 "--gallery", "split", "--split", "test", "--max-queries", "30", "--quiet"]) == 0
    assert json.loads(split.read_text())["gallery_items"] == len(tiny_catalog.indices("test"))


def test_the_same_queries_through_the_running_services(tiny_model_dir, tiny_catalog) -> None:
    import torch

    from fashionrec.model.checkpoint import load_model
    from fashionrec.model.evaluation import model_embeddings
    from fashionrec.model.preprocessing import resize_uint8
    from fashionrec_cli.served_eval import served_stack

    model, spec = load_model(tiny_model_dir)
    emb = model_embeddings(model, resize_uint8(tiny_catalog.images, spec.image_size), torch.device("cpu"))
    config = b.BenchmarkConfig(max_queries=20, conditional_per_attribute=5, outfit_queries=10,
                               posterior_weight=spec.posterior_weight,
                               similarity_posterior_weight=spec.similarity_posterior_weight, progress=False)
    with served_stack(tiny_model_dir, tiny_catalog, config.gallery, k=30, progress=False) as served:
        report = b.run_benchmark(emb, tiny_catalog, config, served=served)
        facts = served.facts()
    n = report["queries"]
    assert facts["published"] == len(tiny_catalog) and facts["failed_calls"] == 0
    assert facts["calls"] == (n["manipulation_single"] + n["manipulation_pair"] + n["conditional"]
                              + n["complementary"] + 4 * n["fitb"])  # ScoreOutfit per FITB candidate
    row = report["methods"][b.SERVED]
    assert list(report["methods"]).index(b.SERVED) == 1  # beside the model row
    assert set(row["manipulation_single"]) == {"hit@1", "hit@10", "hit@30", "ndcg@30"}  # k = 30: no hit@50
    assert set(row["outfit"]) == {"recall@10", "fitb_pairs"}  # Recall@50 and @100 need k ≥ 50
    # Same questions, same formula (ScoreOutfit's pair score) offline and served.
    assert row["outfit"]["fitb_pairs"]["n"] == n["fitb"]
    assert row["outfit"]["fitb_pairs"]["mean"] == report["methods"][b.MODEL]["outfit"]["fitb_pairs"]["mean"]
    for part in ("manipulation_single", "manipulation_pair"):
        assert 0.0 <= row[part]["hit@10"]["mean"] <= 1.0
    assert row["conditional_map@10"]["mean"]["n"] == n["conditional"]


def test_eval_help_documents_the_options_with_examples(capsys) -> None:
    from fashionrec_cli import main

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = capsys.readouterr().out
    for option in ("--gallery", "--through-services", "--posterior-weight", "--similarity-posterior-weight",
                   "--max-queries", "--outfit-queries", "--served-k"):
        assert option in text
    assert "fashionrec eval --model models/adde-synthetic --data /tmp/cat23" in text


def test_offline_model_scores_are_the_served_formulas() -> None:
    """The model row scores exactly as fashionrec.index composes its queries (compose.py, schema.py)."""
    from fashionrec.artifact import ModelArtifact, ModelSpec
    from fashionrec.index import compose, schema

    catalog = generate_catalog(200, 3, 32)
    vocab, rng = catalog.vocabulary, np.random.default_rng(1)
    n, d, total = len(vocab.attributes), 4, vocab.total_values
    chunks = rng.normal(size=(len(catalog), n, d)).astype(np.float32)
    logits = rng.normal(size=(len(catalog), total))
    log_probs = np.concatenate([logits[:, o:o + len(a.values)] - np.log(np.exp(logits[:, o:o + len(a.values)])
                                .sum(1, keepdims=True)) for o, a in zip(vocab.offsets, vocab.attributes)], 1)
    log_probs = np.maximum(log_probs, -6.9).astype(np.float32)
    style = rng.normal(size=(len(catalog), 2)).astype(np.float32)
    style /= np.linalg.norm(style, axis=1, keepdims=True)
    emb = Embeddings(attributes=chunks, whole=chunks.reshape(len(catalog), -1), outfit=style,
                     prototypes=rng.normal(size=(n * d, total)).astype(np.float32),
                     outfit_bilinear=np.eye(2, dtype=np.float32), log_probs=log_probs)
    beta, w, gamma = 0.7, 0.4, 0.3
    spec = ModelSpec("v", vocab, d, 2, 32, posterior_weight=beta, similarity_posterior_weight=w, style_weight=gamma)
    artifact = ModelArtifact(spec, emb.prototypes, emb.outfit_bilinear)
    gallery = b.prepare_gallery(emb, catalog, np.arange(len(catalog)))
    [query] = q.manipulation_queries(catalog, q.ALL, seed=0, n_changes=2, max_queries=1, exclude_not_applicable=True)
    ranking = b.manipulation_rankings(emb, catalog, gallery, [query], beta, rng, k=20, gamma=gamma)[b.MODEL][0]
    names = vocab.names
    current = lambda attribute: catalog.value_name(query.reference, names.index(attribute))  # noqa: E731
    changes = [compose.Change(names[c.attribute], vocab.attributes[c.attribute].values[c.target])
               for c in query.changes]
    i = compose.indicator(spec, changes, current)
    vector = compose.manipulation_query(artifact, emb.whole[query.reference], i,
                                        compose.target_labels(spec, i, current), style[query.reference])
    points = np.stack([schema.point_vectors(spec, emb.whole[g], style[g], log_probs[g])[schema.MANIPULATION]
                       for g in range(len(catalog))])
    served = points @ vector
    served[query.reference] = -np.inf
    assert ranking.tolist() == np.argsort(-served, kind="stable")[:20].tolist()
    # Conditional similarity on color: ⟨s_a(q), s_a(g)⟩.
    color = names.index("color")
    reference = next(x.reference for x in q.conditional_queries(catalog, q.ALL, 0, 5) if x.attribute == color)
    vectors = np.stack([schema.attribute_vectors(spec, emb.whole[g], log_probs[g]) for g in range(len(catalog))])
    part = schema.attribute_slices(spec)["color"]
    expected = vectors[:, part] @ vectors[reference, part]
    expected[reference] = -np.inf
    cos = l2_normalise(chunks[:, color]) @ l2_normalise(chunks[reference, color])
    lo, size = vocab.offsets[color], len(vocab.attributes[color].values)
    p = np.exp(log_probs[:, lo:lo + size].astype(np.float64))
    sq = np.sqrt(p / p.sum(1, keepdims=True))
    mine = (1 - w) * cos + w * (sq @ sq[reference])
    mine[reference] = -np.inf
    np.testing.assert_allclose(mine[np.isfinite(mine)], expected[np.isfinite(expected)], atol=1e-5)


def test_pairwise_fitb_scores_rank_candidates_as_score_outfit_does() -> None:
    """Each candidate's score is Σ over the context of compose.pair_score, so its order is the
    order of ScoreOutfit's mean over every pair of context + candidate."""
    from fashionrec.artifact import ModelArtifact, ModelSpec
    from fashionrec.index import compose

    catalog = generate_catalog(200, 3, 32)
    rng = np.random.default_rng(4)
    n, total = len(catalog.vocabulary.attributes), catalog.vocabulary.total_values
    style = rng.normal(size=(len(catalog), 3)).astype(np.float32)
    emb = Embeddings(attributes=np.zeros((len(catalog), n, 2), np.float32),
                     whole=np.zeros((len(catalog), 2 * n), np.float32), outfit=style,
                     prototypes=np.zeros((2 * n, total), np.float32),
                     outfit_bilinear=rng.normal(size=(3, 3)).astype(np.float32),  # not symmetric
                     log_probs=np.zeros((len(catalog), total), np.float32))
    artifact = ModelArtifact(ModelSpec("v", catalog.vocabulary, 2, 3, 32), emb.prototypes, emb.outfit_bilinear)
    fitb = q.fitb_questions(catalog, q.ALL, 0, max_questions=5)
    assert fitb
    scores = pairwise_fitb_scores(emb, fitb)
    for x, row in zip(fitb, scores):
        for c, score in zip(x.candidates, row):
            items = [*x.context, c]
            pairs = [compose.pair_score(artifact, style[a], style[z]) for i, a in enumerate(items) for z in items[i + 1:]]
            context = [compose.pair_score(artifact, style[a], style[z])
                       for i, a in enumerate(x.context) for z in x.context[i + 1:]]
            assert np.mean(pairs) * len(pairs) - sum(context) == pytest.approx(score, rel=1e-4, abs=1e-4)
