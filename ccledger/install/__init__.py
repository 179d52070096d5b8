"""Installing ccledger into Claude Code: the isolated environment, the settings entries, undoing both.

Modules: entries (what we write and how we recognise it), settings (read/merge/diff/write
settings.json), jsonedit (the new text as a minimal edit of the user's), summary (the change in
words, before the question), state (install.json: what undoing needs, the user's chained status line,
what pip installed last), atomic (safe writes), environment (venv + pip, skipped when up to date),
pathlink (`ccledger` alone on the PATH), installer and uninstaller (the two flows), cli (arguments,
shared with `ccledger setup`), verify (the checks `ccledger doctor` runs).
Standard library only, so install.py can import it from a checkout before anything is installed.
"""
