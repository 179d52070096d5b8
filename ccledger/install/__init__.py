"""Installing ccledger into Claude Code: the isolated environment, the settings entries, undoing both.

Modules: entries (what we write and how we recognise it), settings (read/merge/diff/write
settings.json), state (install.json: what undoing needs, and the user's chained status line),
atomic (safe writes), environment (venv + pip), pathlink (`ccledger` on the PATH), installer and
uninstaller (the two flows), cli (arguments), verify (the checks `ccledger doctor` runs).
Standard library only, so install.py can import it from a checkout before anything is installed.
"""
