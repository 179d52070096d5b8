"""sqlite3 for the hot path, without the import cost of `sqlite3.dbapi2`.

`import sqlite3` loads dbapi2, which imports datetime and collections.abc to
register date adapters we never use: about 2.5 ms, a sixth of a status line's
budget. The C module it wraps, `_sqlite3`, has the same connect(), cursors and
exception classes (they are the very objects sqlite3 re-exports), so the hot
path uses it directly where it exists.
"""
try:
    import _sqlite3 as sqlite3
except ImportError:  # pragma: no cover - CPython always ships it with sqlite3
    import sqlite3  # type: ignore[no-redef]

__all__ = ["sqlite3"]
