"""The outfit rules of the synthetic catalog, and the builder that follows them.

Two items go together when they share the hidden style, their colors are
compatible (taxonomy.color_compatibility: same color, neutrals except the
black/navy and black/brown clashes, harmonious chromatic pairs), and at most
one of them has a loud (non-solid) pattern. An outfit is a template (top +
bottom + shoes, or dress + shoes, each with an optional bag and coat) whose
items are pairwise compatible. The rules are pairwise on purpose: the mean
pairwise distance of the outfit-completion model can represent them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fashionrec.data import taxonomy as tx
from fashionrec.data.catalog import SPLITS, Catalog, Outfit
from fashionrec.errors import FailedPrecondition

# Outfits per item of a split: items take part in about 1.6 outfits on average.
OUTFITS_PER_ITEM = 0.45
_GROUPS = tuple(dict.fromkeys(tx.GROUP.values()))
_ATTEMPTS = 8


@dataclass(frozen=True)
class OutfitRules:
    """The rules compiled to lookup tables over the synthetic vocabulary's value indices."""

    color_ok: np.ndarray  # bool (n_colors, n_colors)
    loud: np.ndarray  # bool (n_patterns,)
    group: np.ndarray  # int (n_categories,): index into GROUPS

    @classmethod
    def synthetic(cls) -> "OutfitRules":
        return cls(color_ok=tx.color_compatibility(),
                   loud=np.array([p in tx.LOUD_PATTERNS for p in tx.PATTERNS]),
                   group=np.array([_GROUPS.index(tx.GROUP[c]) for c in tx.CATEGORIES]))

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> "OutfitRules":
        """The rules, if the catalog is a synthetic one (known vocabulary and hidden styles)."""
        if catalog.styles is None or catalog.vocabulary != tx.vocabulary():
            raise FailedPrecondition("outfit rules exist only for synthetic catalogs "
                                     "(taxonomy vocabulary with hidden styles)")
        return cls.synthetic()

    def compatible_with(self, labels: np.ndarray, styles: np.ndarray, context: np.ndarray,
                        candidates: np.ndarray) -> np.ndarray:
        """bool per candidate row: compatible with every context row."""
        if len(context) == 0:
            return np.ones(len(candidates), bool)
        cand, ctx = labels[candidates], labels[context]
        same_style = styles[candidates][:, None] == styles[context][None, :]
        colors = self.color_ok[cand[:, 1][:, None], ctx[:, 1][None, :]]
        quiet = ~(self.loud[cand[:, 2]][:, None] & self.loud[ctx[:, 2]][None, :])
        return (same_style & colors & quiet).all(axis=1)

    def is_outfit(self, labels: np.ndarray, styles: np.ndarray, rows: np.ndarray) -> bool:
        """Whether the rows are pairwise compatible."""
        rows = np.asarray(rows)
        return all(self.compatible_with(labels, styles, np.delete(rows, i), rows[i:i + 1])[0]
                   for i in range(len(rows)))


def build_outfits(labels: np.ndarray, styles: np.ndarray, splits: np.ndarray,
                  seed: int) -> list[Outfit]:
    """Rule-following outfits per split, using only items of that split; deterministic."""
    rules = OutfitRules.synthetic()
    groups = rules.group[labels[:, 0]]
    outfits: list[Outfit] = []
    for s, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, 2, s])
        rows = np.flatnonzero(splits == split)
        pools = {(st, g): rows[(styles[rows] == st) & (groups[rows] == g)]
                 for st in range(len(tx.STYLES)) for g in range(len(_GROUPS))}
        wanted, made = max(1, round(len(rows) * OUTFITS_PER_ITEM)), 0
        for _ in range(wanted * _ATTEMPTS):
            if made == wanted:
                break
            items = _one_outfit(rules, labels, styles, pools, rng)
            if items is not None:
                outfits.append(Outfit(f"O{seed}-{len(outfits):06d}", items, split))
                made += 1
    return outfits


def _one_outfit(rules: OutfitRules, labels: np.ndarray, styles: np.ndarray,
                pools: dict[tuple[int, int], np.ndarray], rng: np.random.Generator
                ) -> tuple[int, ...] | None:
    style = int(rng.integers(len(tx.STYLES)))
    # Boho leans to dresses; the others to separates.
    dress_share = 0.5 if tx.STYLES[style] == "boho" else 0.25
    required, optional = tx.TEMPLATES[int(rng.uniform() < dress_share)]
    wanted = list(required) + [g for g, p in optional if rng.uniform() < p]
    chosen: list[int] = []
    for g in rng.permutation(len(wanted)):
        group = wanted[g]
        pool = pools[(style, _GROUPS.index(group))]
        pool = pool[rules.compatible_with(labels, styles, np.array(chosen, int), pool)]
        if pool.size == 0:
            if group in required:
                return None
            continue
        chosen.append(int(pool[rng.integers(pool.size)]))
    # Show items in a fixed body order (outerwear, tops, ..., bags), as outfit photos do.
    order = {g: i for i, g in enumerate(("outerwear", "tops", "all-body", "bottoms", "shoes",
                                         "bags"))}
    chosen.sort(key=lambda r: order[_GROUPS[rules.group[labels[r, 0]]]])
    return tuple(chosen)
