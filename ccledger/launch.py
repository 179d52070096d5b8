"""Run a hot-path entry as a plain script: `python -S <site-packages>/ccledger/launch.py hook|statusline`.

With -S Python skips site-packages processing (a third of its start-up time);
this file puts the folder holding the `ccledger` package on sys.path itself,
so the installer can register one absolute command that needs nothing else.
install.py registers it through a one-line `-c` guard (install/entries.BOOT) that
runs this file as a script would run it, and does nothing when it is gone.
It leaves with os._exit once the entry returned and stdout is flushed.
"""
import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    if sys.argv[1:2] == ["statusline"]:
        from ccledger.statusline.entry import main
    else:
        from ccledger.hooks.entry import main
    code = main(sys.argv[2:])
    # Everything is written and closed by now (the ledger, the spool, the logs): skip the interpreter's
    # teardown of its modules, ~2.5 ms of every hook and render.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
