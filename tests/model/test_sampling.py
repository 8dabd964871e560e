import numpy as np

from fashionrec.model.sampling import ManipulationSampler, labelled_batches, outfit_batches


def test_labelled_batches_cover_the_split_and_hold_label_pairs(tiny_catalog):
    rows = tiny_catalog.indices("train")
    batches = labelled_batches(tiny_catalog.labels, rows, 16, np.random.default_rng(0))
    seen = np.unique(np.concatenate(batches))
    assert set(seen) == set(rows)
    labels = tiny_catalog.labels
    for b in batches:
        vectors = {tuple(v) for v in labels[b]}
        assert len(vectors) < len(b)  # at least one label vector appears twice


def test_manipulation_triplets_have_reachable_targets(tiny_catalog):
    labels = tiny_catalog.labels
    rows = tiny_catalog.indices("train")
    t = ManipulationSampler(labels, rows).sample(40, np.random.default_rng(1))
    assert set(t.reference) | set(t.positive) | set(t.negative) <= set(rows)
    np.testing.assert_array_equal(labels[t.positive], t.target)
    changed = (labels[t.reference] != t.target).sum(1)
    assert ((changed >= 1) & (changed <= 2)).all()
    assert not (labels[t.negative] == t.target).all(1).any()
    assert (t.target != -1).all() or (labels[t.reference] == -1).any()


def test_outfit_batches_hold_out_one_item_with_same_category_negatives(tiny_catalog):
    outfits = [o.items for o in tiny_catalog.outfits_of("train")]
    categories = tiny_catalog.labels[:, 0]
    rows = tiny_catalog.indices("train")
    batches = outfit_batches(outfits, categories, rows, 4, 3, np.random.default_rng(2))
    assert sum(len(b.positive) for b in batches) == len(outfits)
    for b in batches:
        assert b.negatives.shape == (len(b.positive), 3)
        assert (categories[b.negatives] == categories[b.positive][:, None]).all()
        for items, positive, negatives in zip(b.items, b.positive, b.negatives):
            outfit = set(items[items >= 0]) | {positive}
            assert not outfit & set(negatives)
