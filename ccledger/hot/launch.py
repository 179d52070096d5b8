"""0.1's entry path: run ccledger/launch.py (see ccledger/hot/__init__.py)."""
import os
import runpy

runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "launch.py"),
               run_name="__main__")
