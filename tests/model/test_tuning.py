from fashionrec.model.tuning import _choose


def test_the_best_hit_at_one_wins_without_styles_and_ties_go_to_the_plainer_query():
    figures = {(0.0, 0.0): (0.90, None), (0.5, 0.0): (0.95, None), (2.0, 0.0): (0.95, None),
               (0.5, 0.2): (0.95, None)}
    assert _choose(figures, n=2000) == (0.5, 0.0)


def test_style_decides_among_the_points_within_one_standard_error_of_the_best_hit_at_one():
    # n = 2000, best 0.95: SE = sqrt(0.95 * 0.05 / 2000) = 0.0049.
    figures = {(0.2, 0.0): (0.952, 0.42),
               (2.0, 0.2): (0.950, 0.70),   # within one SE of 0.952: eligible, keeps the most style
               (0.2, 0.5): (0.933, 0.74)}   # more style but 0.019 below the best hit@1: not eligible
    assert _choose(figures, n=2000) == (2.0, 0.2)
