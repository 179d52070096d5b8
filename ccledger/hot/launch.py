"""Run a hot-path entry as a plain script: `python -S <site-packages>/ccledger/hot/launch.py hook|statusline`.

With -S Python skips site-packages processing (a third of its start-up time);
this file puts the folder holding the `ccledger` package on sys.path itself,
so the installer can register one absolute command that needs nothing else.
"""
import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    if sys.argv[1:2] == ["statusline"]:
        from ccledger.hot.statusline import main
    else:
        from ccledger.hot.hook import main
    sys.exit(main(sys.argv[2:]))
