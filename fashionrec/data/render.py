"""Procedural garment pictures, rendered a batch at a time with numpy.

Every item gets its own coordinate frame: the image's pixel grid is moved,
scaled, stretched and rotated per item into garment coordinates (u, v), with
u across and v down, the garment roughly inside [-1, 1]². Silhouettes are
parametric masks in that frame (sleeves drawn at their length, the neckline
cut out, hems at their length), patterns are functions of (u, v) so they
move with the garment, and the hidden style adds an unlabelled detail
(classic: placket line, sporty: side stripes, boho: embroidered band, street:
oversized cut and a chest logo). Then come a background gradient, a lighting
gain with a color cast, a shading gradient and sensor noise, so an attribute
has to be recognised rather than read off fixed pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fashionrec.data import taxonomy as tx

# Pixels per batch: bounds the float32 working set (~12 MB per RGB array).
BATCH_PIXELS = 1 << 20

# Sleeve length along the arm, per SLEEVES value (n/a: none).
_SLEEVE_REACH = np.array([0.0, 0.3, 0.6, 0.9, 0.0], np.float32)
_NECK = {name: i for i, name in enumerate(tx.NECKLINES)}
_STYLE = {name: i for i, name in enumerate(tx.STYLES)}
_ARM = np.array([0.643, 0.766], np.float32)  # arms hang 50 degrees below horizontal


@dataclass(frozen=True)
class Layers:
    """One category's drawing for a batch: where the garment is, its shading, its sole."""

    mask: np.ndarray  # bool (b, H, W)
    shade: np.ndarray  # float32 (b, H, W), multiplies the garment color
    sole: np.ndarray | None = None  # bool (b, H, W), painted in a fixed gray


def batch_size(image_size: int) -> int:
    return max(1, BATCH_PIXELS // (image_size * image_size))


def render(labels: np.ndarray, styles: np.ndarray, image_size: int,
           rng: np.random.Generator) -> np.ndarray:
    """uint8 (B, S, S, 3) pictures of items; labels columns follow taxonomy.vocabulary()."""
    n = labels.shape[0]
    cat, color, pattern, sleeve, length, neck = (labels[:, i] for i in range(6))
    grid = ((np.arange(image_size, dtype=np.float32) + 0.5) / image_size * 2 - 1)
    gx, gy = grid[None, None, :], grid[None, :, None]

    # Pose: scale, aspect, rotation, translation; street cut is oversized.
    scale = _col(rng.uniform(0.74, 0.96, n))
    aspect = _col(rng.uniform(0.9, 1.1, n) * np.where(styles == _STYLE["street"], 1.14, 1.0))
    theta = np.clip(rng.normal(0.0, 0.13, n), -0.35, 0.35)
    cos, sin = _col(np.cos(theta)), _col(np.sin(theta))
    dx, dy = gx - _col(rng.uniform(-0.1, 0.1, n)), gy - _col(rng.uniform(-0.1, 0.1, n))
    u = (dx * cos + dy * sin) / (scale * aspect)
    v = (dy * cos - dx * sin) / scale

    mask = np.zeros(u.shape, bool)
    shade = np.ones(u.shape, np.float32)
    sole = np.zeros(u.shape, bool)
    for c, draw in enumerate(_DRAW):
        rows = np.flatnonzero(cat == c)
        if rows.size:
            layers = draw(u[rows], v[rows], sleeve[rows], length[rows], neck[rows])
            mask[rows], shade[rows] = layers.mask, layers.shade
            if layers.sole is not None:
                sole[rows] = layers.sole
    mask |= sole

    mix = np.zeros(u.shape, np.float32)
    phase = rng.uniform(0, 1, (n, 2)).astype(np.float32)
    for p, fill in enumerate(_PATTERNS):
        rows = np.flatnonzero(pattern == p)
        if rows.size and fill is not None:
            mix[rows] = fill(u[rows], v[rows], _col(phase[rows, 0]), _col(phase[rows, 1]))

    # Colors are per item, so the lighting cast (gain and tint) and the 0..255 scale are
    # folded into them; pixel arrays are channel-first so every array operation runs over
    # long contiguous rows.
    cast = (rng.uniform(0.78, 1.12, (n, 1)) * rng.normal(1.0, 0.035, (n, 3)) * 255
            ).astype(np.float32)
    base = tx.COLOR_RGB[color] * rng.normal(1.0, 0.04, (n, 3)).astype(np.float32)
    dark = base.mean(axis=1) < 0.45
    contrast = np.where(dark[:, None], np.float32(0.93), np.float32(0.1)).astype(np.float32)
    overlay, overlay_rgb = _style_details(u, v, styles, contrast)
    shade *= np.where(_classic_placket(u, v, styles), np.float32(0.55), np.float32(1.0))
    sole_rgb = np.where(color == tx.COLORS.index("white"), 0.15, 0.92).astype(np.float32)

    hw = image_size * image_size
    flat = (n, 1, hw)
    base, contrast = (base * cast)[..., None], (contrast * cast)[..., None]
    image = base + (contrast - base) * mix.reshape(flat)
    np.copyto(image, (overlay_rgb * cast)[..., None], where=overlay.reshape(flat))
    np.copyto(image, (sole_rgb[:, None] * cast)[..., None], where=sole.reshape(flat))
    light = _col(rng.uniform(-0.22, 0.22, n)) * u + _col(rng.uniform(-0.22, 0.22, n)) * v
    image *= (shade * (1 + light)).reshape(flat)

    canvas = _background(gx, gy, cast, rng)
    np.copyto(canvas, image, where=mask.reshape(flat))
    # Luminance noise, uniform with a per-item spread; +0.5 rounds in the cast to uint8.
    noise = rng.random(flat, dtype=np.float32) - np.float32(0.5)
    noise *= _col(rng.uniform(6.0, 36.0, n)).reshape(n, 1, 1)
    canvas += noise + np.float32(0.5)
    np.clip(canvas, 0, 255, out=canvas)
    pixels = canvas.astype(np.uint8).reshape(n, 3, image_size, image_size)
    return np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))


def _col(x: np.ndarray) -> np.ndarray:
    """A per-item value shaped to broadcast against (b, H, W)."""
    return np.asarray(x, np.float32)[:, None, None]


def _background(gx: np.ndarray, gy: np.ndarray, cast: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """float32 (n, 3, H·W): a studio backdrop gradient, already lit by the cast."""
    n = cast.shape[0]
    # Mostly light backdrops of low saturation, sometimes dark ones.
    level = np.where(rng.uniform(0, 1, n) < 0.2, rng.uniform(0.12, 0.45, n),
                     rng.uniform(0.55, 1.0, n))[:, None]
    tint = rng.uniform(-0.18, 0.18, (n, 3))
    top = (np.clip(level + tint * level, 0, 1) * cast).astype(np.float32)
    bottom = (top * rng.uniform(0.7, 1.1, (n, 1))).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi, n)
    t = np.clip(0.5 + 0.5 * (_col(np.cos(angle)) * gx + _col(np.sin(angle)) * gy), 0, 1)
    return top[..., None] + (bottom - top)[..., None] * t.reshape(n, 1, -1)


def _style_details(u: np.ndarray, v: np.ndarray, styles: np.ndarray, contrast: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Unlabelled marks of the hidden style that sit on top of the pattern."""
    overlay = np.zeros(u.shape, bool)
    rgb = np.zeros((len(styles), 3), np.float32)
    for style, paint in ((_STYLE["sporty"], lambda su, sv: np.abs(np.abs(su) - 0.28) < 0.035),
                         (_STYLE["boho"], lambda su, sv: np.abs(sv - 0.06 * np.sin(su * 16))
                          < 0.045),
                         (_STYLE["street"], lambda su, sv: (np.abs(su - 0.14) < 0.09)
                          & (np.abs(sv + 0.22) < 0.08))):
        rows = np.flatnonzero(styles == style)
        if rows.size:
            overlay[rows] = paint(u[rows], v[rows])
    rgb[styles == _STYLE["sporty"]] = (0.95, 0.95, 0.95)
    rgb[styles == _STYLE["boho"]] = (0.86, 0.62, 0.18)
    street = styles == _STYLE["street"]
    rgb[street] = contrast[street]
    return overlay, rgb


def _classic_placket(u: np.ndarray, v: np.ndarray, styles: np.ndarray) -> np.ndarray:
    classic = (styles == _STYLE["classic"])[:, None, None]
    return classic & (np.abs(u) < 0.022)


# ---- silhouettes ---------------------------------------------------------------------------

def _upper_body(u, v, sleeve, neck, top: float, hem: np.ndarray | float, half_width: float,
                reach_scale: float = 1.0):
    """Torso with sleeves and a neckline.

    Returns the mask, the shading, the sleeves' own mask, the coordinate along the arm
    and the sleeve reach (for cuffs).
    """
    au = np.abs(u)
    torso = (v > top) & (v < hem) & (au < half_width + 0.05 * (v - top))
    reach = _col(_SLEEVE_REACH[sleeve] * reach_scale)
    su, sv = au - (half_width - 0.05), v - (top + 0.06)
    along = su * _ARM[0] + sv * _ARM[1]
    across = sv * _ARM[0] - su * _ARM[1]
    arm = (along > -0.08) & (along < reach) & (np.abs(across) < 0.13) & (reach > 0)
    depth = v - top
    kind = neck[:, None, None]
    cut = ((kind == _NECK["round"]) & (u * u + (depth * 1.25) ** 2 < 0.17 ** 2)) \
        | ((kind == _NECK["v-neck"]) & (depth < 0.38) & (au < 0.17 * (1 - depth / 0.38))) \
        | ((kind == _NECK["square"]) & (au < 0.15) & (depth < 0.2))
    collar = (kind == _NECK["turtleneck"]) & (au < 0.15) & (depth > -0.14) & (depth <= 0.02)
    mask = torso | arm | collar
    shade = np.where(arm & ~torso, np.float32(0.84), np.float32(1.0))
    shade = np.where(collar, np.float32(0.78), shade)
    shade = np.where(cut & torso, np.float32(0.42), shade)
    return mask, shade, arm & ~torso, along, reach


def _tshirt(u, v, sleeve, length, neck) -> Layers:
    mask, shade, _, _, _ = _upper_body(u, v, sleeve, neck, -0.62, 0.62, 0.4)
    return Layers(mask, shade)


def _sweater(u, v, sleeve, length, neck) -> Layers:
    mask, shade, arm, along, reach = _upper_body(u, v, sleeve, neck, -0.62, 0.64, 0.44)
    ribbed = (mask & (v > 0.52)) | (arm & (along > reach - 0.1))
    return Layers(mask, np.where(ribbed, np.float32(0.78), shade))


def _dress(u, v, sleeve, length, neck) -> Layers:
    hem = _col(np.array([0.22, 0.48, 0.72, 0.96], np.float32)[np.minimum(length, 3)])
    mask, shade, _, _, _ = _upper_body(u, v, sleeve, neck, -0.92, -0.3, 0.3, 0.8)
    skirt = (v >= -0.32) & (v < hem) & (np.abs(u) < 0.3 + 0.42 * (v + 0.3))
    return Layers(mask | skirt, np.where(np.abs(v + 0.31) < 0.025, np.float32(0.7), shade))


def _coat(u, v, sleeve, length, neck) -> Layers:
    hem = _col(np.array([0.12, 0.42, 0.68, 0.95], np.float32)[np.minimum(length, 3)])
    mask, shade, _, _, _ = _upper_body(u, v, sleeve, neck, -0.86, hem, 0.43, 1.05)
    au, depth = np.abs(u), v + 0.86
    lapel = (depth < 0.55) & (au < 0.26 * (1 - depth / 0.55)) & (au > 0.025)
    opening = au < 0.02
    shade = np.where(lapel, np.float32(0.74), shade)
    return Layers(mask, np.where(opening & mask, np.float32(0.45), shade))


def _trousers(u, v, sleeve, length, neck) -> Layers:
    hem = _col(np.array([-0.18, 0.22, 0.56, 0.92], np.float32)[np.minimum(length, 3)])
    au = np.abs(u)
    outer = au < 0.36 + 0.05 * (v + 0.86)
    gap = (v > -0.42) & (au < 0.025 + 0.05 * (v + 0.42))
    mask = (v > -0.86) & (v < hem) & outer & ~gap
    return Layers(mask, np.where(v < -0.76, np.float32(0.75), np.float32(1.0)))


def _skirt(u, v, sleeve, length, neck) -> Layers:
    hem = _col(np.array([-0.28, 0.12, 0.5, 0.9], np.float32)[np.minimum(length, 3)])
    mask = (v > -0.86) & (v < hem) & (np.abs(u) < 0.3 + 0.3 * (v + 0.86))
    return Layers(mask, np.where(v < -0.77, np.float32(0.75), np.float32(1.0)))


def _sneakers(u, v, sleeve, length, neck) -> Layers:
    dome = ((u - 0.05) / 0.78) ** 2 + ((v - 0.22) / 0.5) ** 2 < 1
    upper = (dome & (v <= 0.22) & (u > -0.72)) | ((u > -0.74) & (u < -0.35) & (v > -0.34)
                                                    & (v <= 0.22))
    sole = (u > -0.8) & (u < 0.86) & (v > 0.22) & (v < 0.4)
    shade = np.where(u > 0.5, np.float32(0.82), np.float32(1.0))
    return Layers(upper, shade, sole)


def _boots(u, v, sleeve, length, neck) -> Layers:
    shaft = (u > -0.55) & (u < -0.02) & (v > -0.88) & (v <= 0.3)
    foot = (((u - 0.08) / 0.72) ** 2 + ((v - 0.3) / 0.4) ** 2 < 1) & (v <= 0.3) & (u > -0.55)
    sole = ((u > -0.58) & (u < 0.8) & (v > 0.3) & (v < 0.37)) \
        | ((u > -0.58) & (u < -0.3) & (v >= 0.37) & (v < 0.6))
    shade = np.where(v < -0.78, np.float32(0.8), np.float32(1.0))
    return Layers(shaft | foot, shade, sole)


def _handbag(u, v, sleeve, length, neck) -> Layers:
    au = np.abs(u)
    body = (v > -0.22) & (v < 0.6) & (au < 0.5 + 0.14 * (v + 0.22))
    ring = np.sqrt(u * u + ((v + 0.22) / 1.2) ** 2)
    handle = (ring > 0.24) & (ring < 0.33) & (v <= -0.22)
    flap = v < 0.1
    shade = np.where(handle, np.float32(0.7), np.where(flap, np.float32(0.86), np.float32(1.0)))
    return Layers(body | handle, shade, (au < 0.06) & (np.abs(v - 0.1) < 0.05))


def _backpack(u, v, sleeve, length, neck) -> Layers:
    au = np.abs(u)
    body = (au < 0.46) & (v < 0.78) & ((v > -0.3) | (u * u + ((v + 0.3) / 0.7) ** 2 < 0.46 ** 2))
    loop = (np.abs(np.sqrt(u * u + ((v + 0.64) / 0.8) ** 2) - 0.12) < 0.035) & (v < -0.6)
    pocket = (au < 0.3) & (v > 0.22) & (v < 0.66)
    shade = np.where(pocket, np.float32(0.8), np.float32(1.0))
    shade = np.where(pocket & (np.abs(v - 0.3) < 0.02), np.float32(0.5), shade)
    return Layers(body | loop, np.where(loop, np.float32(0.6), shade))


_DRAW: tuple[Callable[..., Layers], ...] = tuple(
    {"tshirt": _tshirt, "sweater": _sweater, "trousers": _trousers, "skirt": _skirt,
     "dress": _dress, "coat": _coat, "sneakers": _sneakers, "boots": _boots,
     "handbag": _handbag, "backpack": _backpack}[c] for c in tx.CATEGORIES)


# ---- patterns: share of the contrast color at (u, v) --------------------------------------

def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _stripes(u, v, p, q):
    return (_frac(v * 4.6 + p) < 0.36).astype(np.float32)


def _dots(u, v, p, q):
    cu, cv = _frac(u * 3.3 + p) - 0.5, _frac(v * 3.3 + q) - 0.5
    return (cu * cu + cv * cv < 0.27 ** 2).astype(np.float32)


def _checks(u, v, p, q):
    cells = np.floor(u * 2.6 + p) + np.floor(v * 2.6 + q)
    return (cells % 2).astype(np.float32) * np.float32(0.8)


def _zigzag(u, v, p, q):
    return (_frac(v * 3.4 + 1.1 * np.abs(_frac(u * 3.4 + q) - 0.5) + p) < 0.38
            ).astype(np.float32)


def _floral(u, v, p, q):
    cu, cv = _frac(u * 2.5 + p) - 0.5, _frac(v * 2.5 + q) - 0.5
    su, sv = cu * cu, cv * cv
    r2 = su + sv + np.float32(1e-6)
    r = np.sqrt(r2)
    # cos(5θ) without atan2: the real part of (cu + i·cv)^5 over r^5.
    cos5 = cu * (su * su - 10 * su * sv + 5 * sv * sv) / (r2 * r2 * r)
    petals = r < 0.2 + 0.14 * cos5
    return np.where(r2 < 0.06 ** 2, np.float32(0.0), petals.astype(np.float32))


_PATTERNS: tuple[Callable[..., np.ndarray] | None, ...] = tuple(
    {"solid": None, "stripes": _stripes, "dots": _dots, "checks": _checks, "zigzag": _zigzag,
     "floral": _floral}[p] for p in tx.PATTERNS)
