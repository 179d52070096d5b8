"""Compatibility only: before 0.2 the hot path lived here. Settings entries and plugin copies written by
0.1 run `ccledger/hot/launch.py` or import `ccledger.hot.hook` / `ccledger.hot.statusline`; these three
files hand over to the new rooms so such an install keeps recording until `python3 install.py` or
`ccledger doctor --fix` rewrites it (and a plugin update replaces the copy)."""
