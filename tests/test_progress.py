import io

from fashionrec.progress import progress_bar, progress_enabled, set_counter


def test_bars_follow_the_terminal_unless_forced() -> None:
    assert progress_enabled(True, {}) and not progress_enabled(False, {"FASHIONREC_PROGRESS": "1"})
    assert progress_enabled(None, {"FASHIONREC_PROGRESS": "1"})
    assert not progress_enabled(None, {"FASHIONREC_PROGRESS": "0"})
    assert not progress_enabled(None, {})  # pytest's stderr is not a terminal


def test_a_polled_counter_moves_to_absolute_values_with_a_postfix() -> None:
    out = io.StringIO()
    with progress_bar(total=10, desc="replaying", unit="record", enabled=True, file=out) as bar:
        set_counter(bar, 4, {"p0": 3, "p1": 3})
        set_counter(bar, 10, {"p0": 0, "p1": 0})
        assert bar.n == 10
    assert "replaying: 100%" in out.getvalue() and "p0=0, p1=0" in out.getvalue()
