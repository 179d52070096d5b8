"""0.1's module name of the hook entry (see ccledger/hot/__init__.py)."""
from ..hooks.entry import main  # noqa: F401
