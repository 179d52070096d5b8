"""The benchmark suite (bench/run.py) on the medium history (~200 MB), with generous ratio bounds.

Excluded by default (pytest addopts `-m 'not bench'`); run with `pytest -m bench tests/test_bench.py`.
Takes about three minutes once bench/out/ holds the histories, the bench venv, ccusage and ccstatusline
(first run: generates the histories, installs ccledger into bench/out/venv with pip and the baselines
with npm). Only ratios between commands measured in the same run are asserted, never absolute times:
the machine is shared and noisy. The real goals are judged on the large history (`python bench/run.py`),
where fixed start-up costs matter less; the hook and status line goals are too tight to assert here, so
these tests allow 3x and 5x `python -c pass` where the goals say 1.3x-2x and 1.5x. The concurrent hooks
are checked exactly: nothing lost, nothing doubled, never "database is locked".

The quick tests at the end run by default (seconds, no history of any size): bench/'s modules import and
register every group, and the helper commands the benchmarks run as processes (`bench/history.py
append-turn`, `bench/hooks.py hammer`) and the timing used when hyperfine cannot be had still work.
"""
from __future__ import annotations

import importlib
import io
import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
bench = pytest.mark.bench   # the benchmark run itself: excluded by default (addopts -m 'not bench')
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


@bench
def test_every_correctness_check_held(results):
    """The ledger equals the generator's ground truth, ccusage read it all, the reports found nothing
    new, and every append grew the ledger by exactly the appended usage."""
    failed = [c for c in results["checks"] if not c["ok"]]
    assert not failed
    assert sum(c["check"].startswith("append") for c in results["checks"]) == 3


@bench
def test_report_with_nothing_new_is_much_faster_than_a_full_ingest(results):
    report = medians(results, "report")["ccledger"]
    ingest = medians(results, "ingest")["ccledger"]
    assert ingest / report >= 5, f"report {report:.3f} s vs full ingest {ingest:.3f} s"


@bench
def test_report_with_nothing_new_is_faster_than_ccusage_daily(results):
    t = medians(results, "report")
    assert t["ccusage"] / t["ccledger"] >= 1.5, t


@bench
def test_ingest_after_an_append_is_much_faster_than_a_full_ingest(results):
    t = medians(results, "append")
    assert t["full_ingest"] / t["ccledger"] >= 5, t


@bench
def test_full_ingest_is_within_a_generous_factor_of_ccusage(results):
    t = medians(results, "ingest")
    assert t["ccledger"] / t["ccusage"] <= 4, t


@bench
def test_full_ingest_peak_memory_stays_under_the_goal(results):
    """Memory is not noisy like time: the goal itself (300 MB, workers included) holds on this size."""
    peak = results["details"]["ingest"]["peak_memory_bytes"]["ccledger"]
    assert peak["tree_rss_sum"] < results["goals"]["ingest_memory_bytes_max"], peak
    assert peak["largest_process"] <= peak["tree_rss_sum"]


@bench
def test_a_hook_costs_at_most_3x_python_c_pass(results):
    """PostToolUse as Claude Code runs it (`<venv python> -S .../launch.py hook`, payload on stdin) against
    the same interpreter's `-c pass` (goal 1.3x on the large history)."""
    t = results["details"]["hooks"]["post_tool_use"]
    assert t["hook PostToolUse"]["median"] / t[STRICT]["median"] <= 3, {k: v["median"] for k, v in t.items()}


@bench
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


@bench
def test_concurrent_hooks_lose_and_double_nothing(results):
    """8 processes x 500 hook events (and a Stop every 100) at once on one ledger: every event is in
    hook_events exactly once, event ids are distinct, no hook failed, nothing says "locked"."""
    c = results["details"]["hooks"]["concurrency"]
    assert c["hook_events_rows"] == c["expected_rows"] == 8 * (500 + 5), c
    assert c["lost"] == 0 and c["doubled"] == 0 and c["stops"] == 40, c
    assert c["distinct_event_ids"] >= c["expected_rows"], c
    assert c["tool_calls_missing"] == 0, c
    assert c["locked_mentions"] == 0 and c["fault_count"] == 0, c


# ------------------------------------------------------------------------------------------ quick tests

MODULES = ("harness", "installed", "baselines", "history", "ledger", "hooks", "gating", "statusline", "run")


@pytest.fixture(scope="module")
def b():
    """bench/'s modules, imported as bench/run.py imports them (bench/ on sys.path), then forgotten."""
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH))
    try:
        yield SimpleNamespace(**{name: importlib.import_module(name) for name in MODULES})
    finally:
        sys.path[:] = saved
        for name in MODULES:
            module = sys.modules.get(name)
            if module is not None and str(BENCH) in str(getattr(module, "__file__", "")):
                del sys.modules[name]


def test_every_group_is_registered_in_order(b):
    assert list(b.run.BENCHMARKS) == ["ingest", "report", "append", "hooks", "gate", "statusline"]
    assert b.run.BENCHMARKS["ingest"] is b.ledger.bench_ingest
    assert b.run.BENCHMARKS["hooks"] is b.hooks.bench_hooks
    assert b.run.BENCHMARKS["gate"] is b.gating.bench_gate
    assert b.run.BENCHMARKS["statusline"] is b.statusline.bench_statusline


def test_run_help_lists_every_group():
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    for group in ("ingest", "report", "append", "hooks", "gate", "statusline", "all"):
        assert group in done.stdout


def test_append_turn_command_appends_one_logged_turn_and_undo_restores(b, shared, tmp_path):
    """What the Stop, gate and status line benchmarks pass to hyperfine as --prepare."""
    root = tmp_path / "history"
    subprocess.run([sys.executable, str(shared / "bench" / "gen_history.py"), "small", "--out", str(root)],
                   check=True, capture_output=True)
    target = b.history.pick_transcript(root)
    size = target.stat().st_size
    log_path = tmp_path / "appends.jsonl"
    command = b.history.append_turn_command(root, target, 5_000, log_path, seed_base=7)
    assert Path(command[1]) == BENCH / "history.py"
    for _ in range(2):
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    added = b.history.appended_totals(log_path)
    assert added["turns"] == 2 and added["api_calls"] >= 2 and added["total_tokens"] > 0
    assert target.stat().st_size == size + added["bytes"]
    assert 2 * 4_000 < added["bytes"] < 2 * 6_000
    b.history.undo_appends(root)
    assert target.stat().st_size == size


def test_hammer_driver_runs_its_events_and_stops(tmp_path):
    """One concurrent hook driver (`bench/hooks.py hammer`), with a stand-in for the hook command."""
    spec = {"argv": [sys.executable, "-c", "import sys; sys.stdin.read()"],
            "sessions": [["session-0", str(tmp_path / "session-0.jsonl")]],
            "post": {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_response": {}},
            "stop": {"hook_event_name": "Stop"}, "events": 4, "stop_every": 2, "tag": "abc123",
            "start_at": time.time()}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "out.json"
    subprocess.run([sys.executable, str(BENCH / "hooks.py"), "hammer", str(tmp_path / "spec.json"), "0", str(out)],
                   check=True, capture_output=True, timeout=60)
    result = json.loads(out.read_text())
    assert [kind for kind, _ in result["runs"]] == ["pre", "post", "stop", "pre", "post", "stop"]
    assert result["faults"] == []


def test_without_hyperfine_commands_are_timed_the_same_way(b, tmp_path, monkeypatch):
    """No hyperfine (and no apt-get install): warmups and runs, each after its prepare, rounds pooled."""
    monkeypatch.setattr(b.harness, "_timer", {"path": None, "how": "own loop", "detail": "test"})
    prepared = tmp_path / "prepared"
    stats = b.harness.hyperfine({"plain": ["true"], "redirected": b.harness.redirect(["cat"], Path("/dev/null"))},
                                dict(os.environ), warmup=2, min_runs=3, max_runs=4, shell="sh", rounds=2,
                                prepare={"redirected": f"echo x >> {prepared}"})
    assert set(stats) == {"plain", "redirected"}
    for s in stats.values():
        assert 6 <= len(s.times) <= 8 and s.min >= 0
    assert len(prepared.read_text().splitlines()) == 2 * 2 + len(stats["redirected"].times)
    with pytest.raises(b.harness.BenchError):
        b.harness.hyperfine({"fails": ["false"]}, dict(os.environ), warmup=0, min_runs=3, max_runs=3)


def test_hyperfine_is_not_installed_unless_root(b, monkeypatch):
    monkeypatch.setattr(b.harness, "_timer", None)
    monkeypatch.setattr(b.harness.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(b.harness.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(b.harness.subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    timer = b.harness.ensure_hyperfine()
    assert timer["path"] is None and timer["how"] == "own loop" and "not root" in timer["detail"]
    info = {"nproc": 2, "cpu": "x", "memory_bytes": 0, "loadavg_at_start": None, "kernel": "k", "python": "3",
            "python_path": "p", "sqlite": "s", "ccledger": "c", "ccusage": None, "node": "n", "hyperfine": None,
            "timer": timer}
    out = io.StringIO()
    b.harness.print_machine(info, file=out)
    assert "short commands timed by: bench/harness.py's own loop" in out.getvalue()
