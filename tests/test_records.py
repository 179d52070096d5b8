"""base.records: the hot path's named tuples behave as collections.namedtuple's do where it uses them."""
from __future__ import annotations

from collections import namedtuple

import pytest

from ccledger.base import fastjson
from ccledger.base.records import record

Point = record("Point", "x y z")
Twin = namedtuple("Twin", "x y z")


def test_a_record_is_built_read_and_shown_like_a_namedtuple():
    p = Point(1, z=3, y=2)
    assert p == Twin(1, 2, 3) == (1, 2, 3) and (p.x, p.y, p.z) == (1, 2, 3)
    assert repr(p) == "Point(x=1, y=2, z=3)" and Point._fields == Twin._fields
    x, y, z = p
    assert (x, y, z) == (1, 2, 3) and fastjson.loads(fastjson.dumps(p)) == [1, 2, 3]
    with pytest.raises(AttributeError):
        p.x = 5  # type: ignore[misc]


@pytest.mark.parametrize("args, kwargs", [((1, 2), {}), ((1, 2, 3, 4), {}), ((1, 2), {"w": 3}), ((1,), {"y": 2})])
def test_a_wrong_number_or_name_of_fields_is_refused(args, kwargs):
    with pytest.raises(TypeError):
        Point(*args, **kwargs)
