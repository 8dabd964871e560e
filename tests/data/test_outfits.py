from __future__ import annotations

from collections import Counter

import numpy as np

from fashionrec.data.catalog import Catalog
from fashionrec.data import taxonomy as tx
from fashionrec.data.outfits import OutfitRules


def test_outfits_follow_every_rule(tiny: Catalog) -> None:
    rules = OutfitRules.for_catalog(tiny)
    assert tiny.outfits
    for outfit in tiny.outfits:
        rows = np.array(outfit.items)
        assert rules.is_outfit(tiny.labels, tiny.styles, rows)
        groups = Counter(tx.GROUP[tiny.value_name(r, 0)] for r in rows)
        assert groups["shoes"] == 1
        assert (groups["tops"], groups["bottoms"]) == (1, 1) or groups["all-body"] == 1
        assert sum(tiny.labels[r, 2] != 0 for r in rows) <= 1  # one loud pattern at most
        assert len({int(tiny.styles[r]) for r in rows}) == 1


def test_outfits_use_only_items_of_their_split(tiny: Catalog) -> None:
    for outfit in tiny.outfits:
        assert {str(tiny.splits[r]) for r in outfit.items} == {outfit.split}
    assert {o.split for o in tiny.outfits} == {"train", "val", "test"}


def test_every_category_has_compatible_and_incompatible_partners(tiny: Catalog) -> None:
    rules = OutfitRules.for_catalog(tiny)
    rows = np.arange(len(tiny))
    for c in range(len(tx.CATEGORIES)):
        members = rows[tiny.labels[:, 0] == c]
        ok = [rules.compatible_with(tiny.labels, tiny.styles, np.array([r]), rows).mean()
              for r in members]
        assert 0 < np.mean(ok) < 1, tx.CATEGORIES[c]


def test_color_rules() -> None:
    ok = tx.color_compatibility()
    index = tx.COLORS.index
    assert ok[index("red"), index("pink")] and ok[index("navy"), index("red")]
    assert not ok[index("red"), index("green")]
    assert not ok[index("black"), index("navy")]
    assert (ok == ok.T).all() and ok.diagonal().all()
