#!/usr/bin/env python3
"""The status line command: the same package finder as the hooks (hooks/ccledger_hook.py), in status line mode."""
import os
import sys

here = os.path.dirname(os.path.realpath(__file__))
for folder in (here, os.path.join(os.path.dirname(here), "hooks")):
    if os.path.isfile(os.path.join(folder, "ccledger_hook.py")):
        sys.path.insert(0, folder)
        break

import ccledger_hook  # noqa: E402

if __name__ == "__main__":
    sys.exit(ccledger_hook.main("statusline"))
