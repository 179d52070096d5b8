"""The benchmark suite (bench/run.py) on the medium history (~200 MB), with generous ratio bounds.

Excluded by default (pytest addopts `-m 'not bench'`); run with `pytest -m bench tests/test_bench.py`.
Takes about three minutes once bench/out/ holds the histories, the bench venv, ccusage and ccstatusline
(first run: generates the histories, installs ccledger into bench/out/venv with pip and the baselines
with npm). Only ratios between commands measured in the same run are asserted, never absolute times:
the machine is shared and noisy. The real goals are judged on the large history (`python bench/run.py`),
where fixed start-up costs matter less; the hook and status line goals are too tight to assert here, so
these tests allow 3x and 5x `python -c pass` where the goals say 1.3x-2x and 1.5x. The concurrent hooks
are checked exactly: nothing lost, nothing doubled, never "database is locked".
"""
from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.bench
STRICT = "python -c pass (same interpreter)"   # bench/run.py's name for the same-interpreter baseline


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "medium.json"
    env = dict(os.environ)
    # conftest points HOME at a temp folder; npm (installing the baseline) wants the real one.
    env["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "all", "--size", "medium",
                           "--runs", "3", "--append-runs", "3", "--hot-runs", "20", "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=1800)
    print(done.stdout)
    print(done.stderr, file=sys.stderr)
    if done.returncode == 3:
        pytest.skip(f"benchmark tool unavailable: {done.stderr.strip().splitlines()[-1]}")
    assert out.exists(), f"bench/run.py exited {done.returncode} without results:\n{done.stderr[-3000:]}"
    body = json.loads(out.read_text())
    assert body["error"] is None, body["error"]
    return body


def medians(body: dict, bench: str) -> dict[str, float]:
    return {tool: s["median"] for tool, s in body["details"][bench]["time_seconds"].items()}


def test_every_correctness_check_held(results):
    """The ledger equals the generator's ground truth, ccusage read it all, the reports found nothing
    new, and every append grew the ledger by exactly the appended usage."""
    failed = [c for c in results["checks"] if not c["ok"]]
    assert not failed
    assert sum(c["check"].startswith("append") for c in results["checks"]) == 3


def test_report_with_nothing_new_is_much_faster_than_a_full_ingest(results):
    report = medians(results, "report")["ccledger"]
    ingest = medians(results, "ingest")["ccledger"]
    assert ingest / report >= 5, f"report {report:.3f} s vs full ingest {ingest:.3f} s"


def test_report_with_nothing_new_is_faster_than_ccusage_daily(results):
    t = medians(results, "report")
    assert t["ccusage"] / t["ccledger"] >= 1.5, t


def test_ingest_after_an_append_is_much_faster_than_a_full_ingest(results):
    t = medians(results, "append")
    assert t["full_ingest"] / t["ccledger"] >= 5, t


def test_full_ingest_is_within_a_generous_factor_of_ccusage(results):
    t = medians(results, "ingest")
    assert t["ccledger"] / t["ccusage"] <= 4, t


def test_full_ingest_peak_memory_stays_under_the_goal(results):
    """Memory is not noisy like time: the goal itself (300 MB, workers included) holds on this size."""
    peak = results["details"]["ingest"]["peak_memory_bytes"]["ccledger"]
    assert peak["tree_rss_sum"] < results["goals"]["ingest_memory_bytes_max"], peak
    assert peak["largest_process"] <= peak["tree_rss_sum"]


def test_a_hook_costs_at_most_3x_python_c_pass(results):
    """PostToolUse as Claude Code runs it (`<venv python> -S .../launch.py hook`, payload on stdin) against
    the same interpreter's `-c pass` (goal 1.3x on the large history)."""
    t = results["details"]["hooks"]["post_tool_use"]
    assert t["hook PostToolUse"]["median"] / t[STRICT]["median"] <= 3, {k: v["median"] for k, v in t.items()}


def test_a_status_line_costs_at_most_5x_python_c_pass(results):
    """Every status line variant (nothing new / a new 5 KB turn, with and without rate_limits) against the
    same interpreter's `-c pass` measured in the same hyperfine call (goal 1.5x on the large history)."""
    details = results["details"]["statusline"]
    for variant in ("nothing_new", "new_turn"):
        t = details[variant]
        base = t[STRICT]["median"]
        for name, stats in t.items():
            if name.startswith("ccledger status line"):
                assert stats["median"] / base <= 5, (variant, name, stats["median"], base)


def test_concurrent_hooks_lose_and_double_nothing(results):
    """8 processes x 500 hook events (and a Stop every 100) at once on one ledger: every event is in
    hook_events exactly once, event ids are distinct, no hook failed, nothing says "locked"."""
    c = results["details"]["hooks"]["concurrency"]
    assert c["hook_events_rows"] == c["expected_rows"] == 8 * (500 + 5), c
    assert c["lost"] == 0 and c["doubled"] == 0 and c["stops"] == 40, c
    assert c["distinct_event_ids"] >= c["expected_rows"], c
    assert c["tool_calls_missing"] == 0, c
    assert c["locked_mentions"] == 0 and c["fault_count"] == 0, c
