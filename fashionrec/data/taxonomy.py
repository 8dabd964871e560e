"""What the synthetic catalog contains: attributes and values, which values fit which
category, the hidden styles and how they bias the visible attributes, and the
outfit rules.

Kept as plain tables so that the generator, the outfit builder, the tests and
docs/data.md all read the same facts.
"""

from __future__ import annotations

import numpy as np

from fashionrec.vocab import Vocabulary

NA = "n/a"

CATEGORIES = ("tshirt", "sweater", "trousers", "skirt", "dress", "coat",
              "sneakers", "boots", "handbag", "backpack")
# Category -> coarse group; the groups are Polyvore's semantic categories.
GROUP = {"tshirt": "tops", "sweater": "tops", "trousers": "bottoms", "skirt": "bottoms",
         "dress": "all-body", "coat": "outerwear", "sneakers": "shoes", "boots": "shoes",
         "handbag": "bags", "backpack": "bags"}
COLORS = ("black", "white", "gray", "navy", "beige", "brown",
          "blue", "red", "pink", "orange", "yellow", "green")
PATTERNS = ("solid", "stripes", "dots", "checks", "zigzag", "floral")
SLEEVES = ("sleeveless", "short", "three-quarter", "long", NA)
LENGTHS = ("short", "knee", "midi", "long", NA)
NECKLINES = ("round", "v-neck", "square", "turtleneck", NA)

# Values each category can take; every other category gets "n/a".
SLEEVES_OF = {"tshirt": ("sleeveless", "short", "three-quarter", "long"),
              "sweater": ("short", "three-quarter", "long"),
              "dress": ("sleeveless", "short", "three-quarter", "long"),
              "coat": ("three-quarter", "long")}
LENGTHS_OF = {"trousers": LENGTHS[:4], "skirt": LENGTHS[:4], "dress": LENGTHS[:4],
              "coat": LENGTHS[:4]}
NECKLINES_OF = {"tshirt": ("round", "v-neck", "square"),
                "sweater": ("round", "v-neck", "turtleneck"),
                "dress": ("round", "v-neck", "square")}

# Linear RGB in [0, 1] of each color before lighting and jitter.
COLOR_RGB = np.array([
    (0.08, 0.08, 0.09), (0.95, 0.95, 0.93), (0.52, 0.52, 0.54), (0.10, 0.14, 0.36),
    (0.86, 0.78, 0.62), (0.42, 0.25, 0.13), (0.16, 0.42, 0.86), (0.82, 0.10, 0.12),
    (0.96, 0.56, 0.72), (0.96, 0.50, 0.08), (0.96, 0.85, 0.15), (0.16, 0.58, 0.22),
], dtype=np.float32)

# Hidden styles. Each biases the category, color and pattern of its items and
# adds a visible, unlabelled detail to the rendering (see render.py).
STYLES = ("classic", "sporty", "boho", "street")
# Relative weights, rows = styles, columns = CATEGORIES.
STYLE_CATEGORY_WEIGHTS = np.array([
    [2, 3, 3, 2, 2, 3, 1, 2, 3, 1],
    [4, 2, 3, 1, 1, 1, 4, 1, 1, 3],
    [2, 2, 1, 3, 4, 2, 1, 3, 3, 1],
    [4, 3, 3, 1, 1, 2, 3, 2, 1, 2],
], dtype=np.float64)
# Columns = COLORS.
STYLE_COLOR_WEIGHTS = np.array([
    [4, 4, 3, 4, 4, 2, 1, 1, 0.5, 0.3, 0.3, 0.5],
    [2, 4, 2, 1, 0.5, 0.3, 4, 3, 1, 2, 3, 3],
    [0.5, 2, 0.5, 0.5, 4, 4, 0.5, 1, 2, 3, 2, 3],
    [4, 2, 4, 1, 0.5, 1, 1, 4, 1, 1, 3, 1],
], dtype=np.float64)
# Columns = PATTERNS.
STYLE_PATTERN_WEIGHTS = np.array([
    [10, 3, 1, 3, 0.3, 0.3],
    [10, 4, 0.5, 0.5, 2, 0.3],
    [8, 0.5, 2, 0.5, 1, 4],
    [8, 1, 1, 3, 3, 0.3],
], dtype=np.float64)

# Outfit rules. Colors are "neutral" or "chromatic"; two items go together when
# their colors are the same, both neutral and not a clash, one neutral (not a
# clash), or a harmonious chromatic pair. No three chromatic colors are pairwise
# harmonious, so pairwise compatibility also means at most two chromatic colors.
NEUTRALS = ("black", "white", "gray", "navy", "beige", "brown")
CLASHES = (("black", "navy"), ("black", "brown"))
HARMONIES = (("red", "pink"), ("red", "orange"), ("orange", "yellow"), ("yellow", "green"),
             ("green", "blue"), ("blue", "pink"), ("blue", "orange"))
# Every pattern but solid is loud; an outfit has at most one loud item.
LOUD_PATTERNS = PATTERNS[1:]
# Outfit templates: required groups, then optional groups with their probability.
TEMPLATES = (
    (("tops", "bottoms", "shoes"), (("bags", 0.5), ("outerwear", 0.4))),
    (("all-body", "shoes"), (("bags", 0.6), ("outerwear", 0.4))),
)


def vocabulary() -> Vocabulary:
    """The synthetic catalog's vocabulary; attribute 0 is the category."""
    return Vocabulary.from_mapping({
        "category": CATEGORIES,
        "color": COLORS,
        "pattern": PATTERNS,
        "sleeve_length": SLEEVES,
        "length": LENGTHS,
        "neckline": NECKLINES,
    })


def color_compatibility() -> np.ndarray:
    """bool (n_colors, n_colors): whether two colors may be in one outfit."""
    n = len(COLORS)
    neutral = np.array([c in NEUTRALS for c in COLORS])
    ok = np.eye(n, dtype=bool) | neutral[:, None] | neutral[None, :]
    for pairs, allowed in ((CLASHES, False), (HARMONIES, True)):
        for a, b in pairs:
            i, j = COLORS.index(a), COLORS.index(b)
            ok[i, j] = ok[j, i] = allowed
    return ok
