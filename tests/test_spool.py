"""Eight hook processes at once, 500 events each: nothing lost, nothing twice, no locked database."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO, cli, ledger_rows
from hot_helpers import error_lines

WRITER = """
import sys
sys.path[0] = {repo!r}
from ccledger.hooks import entry as hook
for i in range({n}):
    event = "PreToolUse" if i % 2 == 0 else "PostToolUse"
    hook.handle({{"hook_event_name": event, "session_id": "s{w}", "tool_name": "Bash",
                 "tool_use_id": "toolu_{w}_%d" % (i // 2), "tool_input": {{"command": "ls"}},
                 "tool_response": {{"stdout": "ok"}}, "duration_ms": i}})
    if i % 100 == 99:  # a Stop in the middle of the storm drains the spool while others append
        hook.handle({{"hook_event_name": "Stop", "session_id": "s{w}", "transcript_path": "/none/projects/p/s.jsonl"}})
"""


def test_concurrent_hooks_lose_nothing_and_duplicate_nothing(isolated):
    workers, per = 8, 500
    procs = [subprocess.Popen([sys.executable, "-S", "-c", WRITER.format(repo=str(REPO), n=per, w=w)],
                              env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for w in range(workers)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out == b"", err
        assert b"locked" not in err
    assert cli("ingest", "--quiet").code == 0
    stops = workers * (per // 100)
    assert ledger_rows("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM hook_events") == [
        (workers * per + stops, workers * per + stops)]
    assert ledger_rows("SELECT COUNT(*) FROM tool_calls WHERE status='ok' AND started_ms IS NOT NULL") == [
        (workers * per // 2,)]
    assert all("does not exist" in line for line in error_lines())  # only the fake transcript path
    assert not any(os.scandir(os.path.join(os.environ["CCLEDGER_HOME"], "spool")))
