"""Conditions checked on a payload (what EdgeStore's post-filtered plan does) agree with the engine's."""

from __future__ import annotations

import pytest

from fashionrec.index.filters import AnyOf, Between, Equals, holds, payload_value

PAYLOAD = {"category": "dress", "brand": "acme", "price": 49.5, "in_stock": 1,
           "predicted_labels": {"color": "red"}}


def test_a_dotted_key_reads_a_nested_value_and_a_missing_one_is_none() -> None:
    assert payload_value(PAYLOAD, "predicted_labels.color") == "red"
    assert payload_value(PAYLOAD, "predicted_labels.sleeve") is None
    assert payload_value(PAYLOAD, "category.x") is None
    assert payload_value({}, "price") is None


@pytest.mark.parametrize(("condition", "expected"), [
    (AnyOf("category", ("dress", "top")), True),
    (AnyOf("category", ("top",)), False),
    (AnyOf("predicted_labels.color", ("red",)), True),
    (AnyOf("predicted_labels.sleeve", ("long",)), False),  # missing: no match
    (Between("price", 49.5, 49.5), True),  # both bounds inclusive
    (Between("price", None, 49.4), False),
    (Between("price", 10.0, None), True),
    (Between("brand", 0.0, None), False),  # not a number: no match
    (Equals("in_stock", 1), True),
    (Equals("in_stock", 0), False),
])
def test_each_condition_holds_as_the_engine_decides(condition, expected: bool) -> None:
    assert holds(condition, PAYLOAD) is expected


def test_a_bool_is_not_an_integer_or_a_price() -> None:
    # The payload stores in_stock as int 0/1 because the engine's MatchValue(True) matches nothing
    # (docs/index.md); a bool that slipped in must not match here either.
    assert not holds(Equals("in_stock", 1), {"in_stock": True})
    assert not holds(Between("price", 0.0, 2.0), {"price": True})
