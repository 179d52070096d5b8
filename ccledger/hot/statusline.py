"""0.1's module name of the status line entry (see ccledger/hot/__init__.py)."""
from ..statusline.entry import main  # noqa: F401
