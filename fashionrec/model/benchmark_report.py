"""The benchmark report as text: one table of methods × figures (mean ± SE), then per attribute."""

from __future__ import annotations

from typing import Any

from fashionrec.model.benchmark_gallery import (BETA_ZERO, CHANGE_IGNORED, CLASSIFIER_SOFT, CONDITIONAL_K,
                                                GAMMA_ZERO, HARD_FILTER, MODEL, POSTERIOR_ONLY, RANDOM, SERVED, W_ZERO)

__all__ = ["METHOD_ORDER", "format_report", "method_rank"]

METHOD_ORDER = (MODEL, SERVED, GAMMA_ZERO, BETA_ZERO, W_ZERO, POSTERIOR_ONLY, CLASSIFIER_SOFT, HARD_FILTER,
                CHANGE_IGNORED, RANDOM)


def method_rank(name: str) -> int:
    return METHOD_ORDER.index(name) if name in METHOD_ORDER else len(METHOD_ORDER)


# ---------------------------------------------------------------------------------------------
# Tables

COLUMNS = (
    ("1-attr h@1", "manipulation_single", "hit@1"),
    ("1-attr h@10", "manipulation_single", "hit@10"),
    ("1-attr h@30", "manipulation_single", "hit@30"),
    ("1-attr h@50", "manipulation_single", "hit@50"),
    ("1-attr NDCG@30", "manipulation_single", "ndcg@30"),
    ("1-attr style h@1", "manipulation_single", "style hit@1"),
    ("1-attr style h@10", "manipulation_single", "style hit@10"),
    ("2-attr h@1", "manipulation_pair", "hit@1"),
    ("2-attr h@10", "manipulation_pair", "hit@10"),
    ("2-attr h@30", "manipulation_pair", "hit@30"),
    ("2-attr h@50", "manipulation_pair", "hit@50"),
    ("2-attr style h@1", "manipulation_pair", "style hit@1"),
    ("2-attr style h@10", "manipulation_pair", "style hit@10"),
    ("cond mAP@10", f"conditional_map@{CONDITIONAL_K}", "mean"),
    ("FITB", "outfit", "fitb"),
    ("FITB pairs", "outfit", "fitb_pairs"),
    ("R@10", "outfit", "recall@10"),
    ("R@50", "outfit", "recall@50"),
    ("R@100", "outfit", "recall@100"),
)


def _cell(fig: dict[str, float] | None) -> str:
    if not fig:
        return "-"
    return f"{fig['mean']:.3f}±{fig['se']:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(header[j]), *(len(r[j]) for r in rows)) if rows else len(header[j])
              for j in range(len(header))]
    lines = ["  ".join(h.ljust(w) if j == 0 else h.rjust(w) for j, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    return "\n".join(lines)


def format_report(report: dict[str, Any], title: str = "") -> str:
    """The methods × figures table, then the per-attribute tables; figures are mean±SE."""
    methods = report["methods"]
    columns = [c for c in COLUMNS if any(methods[m].get(c[1], {}).get(c[2]) for m in methods)]
    rows = [[m] + [_cell(methods[m].get(part, {}).get(name)) for _, part, name in columns] for m in methods]
    qn = report["queries"]
    head = (f"{title}gallery {report['gallery']} ({report['gallery_items']} items); queries: "
            f"{qn['manipulation_single']} single + {qn['manipulation_pair']} two-attribute manipulations, "
            f"{qn['conditional']} conditional, {qn['fitb']} FITB, {qn['complementary']} complementary "
            f"(category gallery ~{report.get('outfit_gallery', {}).get('category_gallery_mean', 0):.0f} items); "
            f"β={report['posterior_weight']:g}, γ={report.get('style_weight', 0.0):g}, "
            f"w={report['similarity_posterior_weight']:g}")
    parts = [head, _table(["method"] + [c[0] for c in columns], rows)]
    single = report["per_attribute"].get("manipulation_single", {})
    if single:
        names = list(dict.fromkeys(a for per in single.values() for a in per))
        header = ["single change hit@10 / hit@30"] + names
        body = [[m] + [f"{per[a]['hit@10']['mean']:.3f} / {per[a]['hit@30']['mean']:.3f}" if a in per else "-"
                       for a in names] for m, per in single.items()]
        n = [["(queries; SE ≤)"] + [f"{next(iter(single.values()))[a]['hit@10']['n']} / "
                                    f"{max(per[a]['hit@10']['se'] for per in single.values() if a in per):.3f}"
                                    for a in names]]
        parts.append(_table(header, body + n))
    cond = {m: f for m, f in methods.items() if f.get(f"conditional_map@{CONDITIONAL_K}")}
    if cond:
        names = list(dict.fromkeys(a for f in cond.values() for a in f[f"conditional_map@{CONDITIONAL_K}"]
                                   if a != "mean"))
        body = [[m] + [_cell(f[f"conditional_map@{CONDITIONAL_K}"].get(a)) for a in names] for m, f in cond.items()]
        parts.append(_table([f"conditional mAP@{CONDITIONAL_K}"] + names, body))
    accuracy = report["per_attribute"].get("classifier_accuracy", {})
    if accuracy:
        parts.append(_table(["classifier accuracy (applicable items)"] + list(accuracy),
                            [["model"] + [_cell(f) for f in accuracy.values()],
                             ["items"] + [str(f["n"]) for f in accuracy.values()]]))
    dis = report.get("disentanglement") or {}
    if dis:
        parts.append(f"disentanglement (nearest centroid, applicable items): own {dis['own']:.3f}, "
                     f"others {dis['others']:.3f}")
    parts.append("seconds: " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()))
    return "\n\n".join(parts)
