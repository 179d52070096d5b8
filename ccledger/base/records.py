"""Named tuples without `collections`: on the hot path its import is ~1 ms, an eighth of a status line.

`record("Point", "x y")` makes a tuple subclass with those field names as read-only attributes, built
from positional or keyword arguments, as collections.namedtuple's are (no _replace/_asdict: nothing on
the hot path needs them). Being tuples, records compare, unpack and serialize (fastjson) as tuples.
"""
from __future__ import annotations


def _field(index: int) -> property:
    return property(lambda self: self[index], doc=f"field {index}")


def record(name: str, fields: str) -> type:
    """A tuple subclass named `name` with the space-separated `fields`."""
    names = tuple(fields.split())
    count = len(names)

    def __new__(cls, *args: object, **kwargs: object):  # noqa: N807
        if kwargs:
            values = list(args) + [kwargs.pop(n) for n in names[len(args):] if n in kwargs]
            if kwargs:
                raise TypeError(f"{name}() got unexpected field(s) {', '.join(kwargs)}")
            args = tuple(values)
        if len(args) != count:
            raise TypeError(f"{name}() takes {count} fields ({fields}), got {len(args)}")
        return tuple.__new__(cls, args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in zip(names, self))})"

    body = {"__slots__": (), "__new__": __new__, "__repr__": __repr__, "_fields": names}
    body.update((n, _field(i)) for i, n in enumerate(names))
    return type(name, (tuple,), body)
