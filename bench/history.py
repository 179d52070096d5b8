"""The synthetic input of the benchmarks (stdlib only): histories, new turns, payloads.

- the histories: `ensure_history(size)` generates (once per size, into bench/out/history-<size>/, reused
  after) a CLAUDE_CONFIG_DIR with ../shared/bench/gen_history.py, whose expected.json is the ground truth;
  `ensure_current()` a second one holding one ~49 MB session that ends a minute ago (the status line's
  current transcript);
- which transcripts the benchmarks use (`pick_transcript`, `main_transcripts`, `untouched_sessions`);
- appending genuinely new, realistic usage to a transcript, shaped like its own last turn, and undoing it
  (`append_usage`, `undo_appends`); as a command for hyperfine's --prepare (`append_turn_command`, which
  runs `python bench/history.py append-turn ...`) with what it logged (`appended_totals`);
- the hook and status line payloads, from the corpus' 2.1.332 shapes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import string
import subprocess
import sys
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

from harness import MB, OUT, BenchError, Unavailable, log, shared_dir

SIZES = {
    "large": {"sessions": 200, "lines": 2000},   # ~1 GB
    "medium": {"sessions": 40, "lines": 2000},   # ~200 MB
}


# ------------------------------------------------------------------------------------------ histories

def generator() -> Path:
    path = shared_dir() / "bench" / "gen_history.py"
    if not path.is_file():
        raise Unavailable(f"history generator not found at {path} (set CCLEDGER_SHARED to the shared folder)")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_bytes(root: Path) -> int:
    """Total size of every *.jsonl under root/projects (what the generator reports as `bytes`)."""
    total = 0
    for folder, _, names in os.walk(root / "projects"):
        total += sum(os.path.getsize(os.path.join(folder, n)) for n in names if n.endswith(".jsonl"))
    return total


@dataclass
class History:
    root: Path          # a CLAUDE_CONFIG_DIR (root/projects/...)
    size: str
    expected: dict      # the generator's expected.json (ground truth)
    generated: bool     # made in this run (False: reused from the cache)
    seconds: float      # how long generating took (0 if reused)

    @property
    def bytes(self) -> int:
        return int(self.expected["bytes"])


JOURNAL = ".bench-appended.json"   # files the append benchmark grew, with their original sizes
STAMP = ".bench-stamp.json"        # how the cached history was made


def undo_appends(root: Path) -> None:
    """Truncate transcripts grown by an append benchmark back to their generated size."""
    journal = root / JOURNAL
    if not journal.exists():
        return
    for path, size in json.loads(journal.read_text()).items():
        if os.path.exists(path) and os.path.getsize(path) > size:
            os.truncate(path, size)
    journal.unlink()


def ensure_history(size: str) -> History:
    """The size's history in bench/out/history-<size>/: reused when its stamp and byte count match."""
    gen = generator()
    root = OUT / f"history-{size}"
    args = ["large", "--sessions", str(SIZES[size]["sessions"]), "--lines", str(SIZES[size]["lines"])]
    stamp = {"args": args, "generator_sha256": _sha256(gen)}
    if root.exists():
        undo_appends(root)
        try:
            ok = (json.loads((root / STAMP).read_text()) == stamp
                  and file_bytes(root) == json.loads((root / "expected.json").read_text())["bytes"])
        except (OSError, ValueError, KeyError):
            ok = False
        if ok:
            return History(root, size, json.loads((root / "expected.json").read_text()), False, 0.0)
        log(f"history cache {root} is stale or incomplete: regenerating")
        shutil.rmtree(root)
    OUT.mkdir(parents=True, exist_ok=True)
    log(f"generating the {size} history into {root} (python3 {gen.name} {' '.join(args)}) ...")
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(gen), *args, "--out", str(root), "--force"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise BenchError(f"history generator failed:\n{done.stderr[-2000:]}")
    seconds = time.monotonic() - started
    (root / STAMP).write_text(json.dumps(stamp))
    expected = json.loads((root / "expected.json").read_text())
    log(f"  {expected['bytes'] / MB:,.0f} MB in {seconds:.0f} s")
    return History(root, size, expected, True, seconds)


CURRENT = {"sessions": 1, "lines": 20000, "projects": 1, "days": 1, "seed": 50}   # one ~49 MB session
CURRENT_MAX_AGE_S = 900    # regenerate the current session when its last line is older than this


def _last_timestamp_ms(path: Path, tail: int = 1 << 16) -> int | None:
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - tail))
        data = handle.read()
    for raw in reversed(data.split(b"\n")):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
            return _ms(obj["timestamp"])
    return None


def ensure_current() -> History:
    """A second CLAUDE_CONFIG_DIR (bench/out/current-50mb/) holding one ~49 MB session that ends just now:
    the transcript of the session a status line is drawn for.

    The generator spreads 20,000 lines over about two days from `--now - 1 day`, so the session would end
    in the future; it is generated with `--now` moved back by that span (learnt from the previous
    generation, which is therefore done twice the first time) so its last line is a minute old. Its own
    seed keeps its ids apart from the history's. Reused while its last line is under 15 minutes old.
    """
    gen = generator()
    root = OUT / "current-50mb"
    args = ["large", *(x for k, v in CURRENT.items() for x in (f"--{k}", str(v)))]
    stamp_base = {"args": args, "generator_sha256": _sha256(gen)}
    old: dict = {}
    try:
        old = json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        pass
    if root.exists():
        undo_appends(root)
    if all(old.get(k) == v for k, v in stamp_base.items()) and root.exists():
        try:
            expected = json.loads((root / "expected.json").read_text())
            files = sorted((root / "projects").rglob("*.jsonl"))
            last = _last_timestamp_ms(files[0]) if files else None
            if (file_bytes(root) == expected["bytes"] and last is not None
                    and 0 <= time.time() * 1000 - last <= CURRENT_MAX_AGE_S * 1000):
                return History(root, "current", expected, False, 0.0)
        except (OSError, ValueError, KeyError, IndexError):
            pass
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    span = old.get("span_ms") if all(old.get(k) == v for k, v in stamp_base.items()) else None
    for attempt in range(2):
        target = time.time() * 1000 - 60_000
        now_ms = int(target - span) if span is not None else int(target)
        log(f"generating the current session into {root} (python3 {gen.name} {' '.join(args)}) ...")
        done = subprocess.run([sys.executable, str(gen), *args, "--now", _iso(now_ms), "--out", str(root),
                               "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise BenchError(f"history generator failed:\n{done.stderr[-2000:]}")
        last = _last_timestamp_ms(sorted((root / "projects").rglob("*.jsonl"))[0])
        if last is None:
            raise BenchError(f"{root}: no timestamp in the generated session")
        if span is not None and abs(last - target) < 5 * 60_000:
            break
        span = last - now_ms   # the same for every --now: the generator draws the same numbers
    (root / STAMP).write_text(json.dumps({**stamp_base, "span_ms": span}))
    expected = json.loads((root / "expected.json").read_text())
    seconds = time.monotonic() - started
    log(f"  {expected['bytes'] / MB:,.0f} MB in {seconds:.0f} s")
    return History(root, "current", expected, True, seconds)


# ------------------------------------------------------------------------------------------ transcripts

def pick_transcript(root: Path) -> Path:
    """The largest main-session transcript (deterministic: ties by path)."""
    files = [Path(folder) / n for folder, _, names in os.walk(root / "projects") for n in names
             if n.endswith(".jsonl") and "subagents" not in folder]
    if not files:
        raise BenchError(f"no transcripts under {root}/projects")
    return max(sorted(files), key=lambda p: p.stat().st_size)


def main_transcripts(root: Path) -> list[Path]:
    """Every main-session transcript (not subagents), largest first (ties by path)."""
    files = [Path(folder) / n for folder, _, names in os.walk(root / "projects") for n in names
             if n.endswith(".jsonl") and "subagents" not in folder]
    return sorted(sorted(files), key=lambda p: -p.stat().st_size)


def untouched_sessions(root: Path) -> list[Path]:
    """Main sessions of the history, largest first, without the append benchmark's target: that one
    was grown and truncated back, which a ledger copy sees as a shrunk file (a restart), not as the
    ordinary case these benchmarks measure."""
    skip = pick_transcript(root)
    return [p for p in main_transcripts(root) if p != skip]


# ------------------------------------------------------------------------------------------ appending

B62 = string.ascii_letters + string.digits


class Ids:
    """New identifiers in the shapes Claude Code writes (as gen_history.py makes them)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _b62(self, n: int) -> str:
        return "".join(self.rng.choice(B62) for _ in range(n))

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def like(self, old: str) -> str:
        """A fresh id of the same kind as `old`."""
        for prefix, n in (("msg_01", 22), ("req_011C", 20), ("toolu_01", 22)):
            if old.startswith(prefix):
                return prefix + self._b62(n)
        if len(old) == 36 and old.count("-") == 4:
            return self.uuid()
        return old.split("_")[0] + "_" + self._b62(max(8, len(old) - len(old.split("_")[0]) - 1))


def b62(n: int) -> str:
    """n random base-62 characters (the module's random state: different every run)."""
    return "".join(random.choice(B62) for _ in range(n))

def _ms(ts: str) -> int:
    return round(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _usage_total(usage: dict) -> int:
    """Total tokens of one line's usage, as ccledger and ccusage count it."""
    split = usage.get("cache_creation") or {}
    writes = max(usage.get("cache_creation_input_tokens") or 0,
                 (split.get("ephemeral_5m_input_tokens") or 0) + (split.get("ephemeral_1h_input_tokens") or 0))
    return (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0) + writes \
        + (usage.get("cache_read_input_tokens") or 0)


def _template(path: Path, tail: int = 1 << 20) -> list[dict]:
    """The file's own last turn: its last API response (every line of it) and the user line after it
    (else the last user line before it)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - tail))
        data = handle.read()
    lines = []
    for raw in data.split(b"\n")[1:]:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            lines.append(obj)

    def blocks(obj: dict, kind: str) -> list[dict]:
        content = (obj.get("message") or {}).get("content") if isinstance(obj.get("message"), dict) else None
        return [b for b in content if isinstance(b, dict) and b.get("type") == kind] \
            if isinstance(content, list) else []

    def key(obj: dict) -> tuple:
        return obj["message"].get("id"), obj.get("requestId")

    with_usage = [o for o in lines if o.get("type") == "assistant"
                  and isinstance((o.get("message") or {}).get("usage"), dict)]
    if not with_usage:
        raise BenchError(f"{path}: no assistant line with usage in its last {tail} bytes")
    # Preferred: the last response that called a tool, with the user line carrying that tool's result.
    tool_owner = {b.get("id"): key(o) for o in with_usage for b in blocks(o, "tool_use")}
    for obj in reversed(lines):
        if obj.get("type") != "user":
            continue
        owners = [tool_owner[b.get("tool_use_id")] for b in blocks(obj, "tool_result")
                  if b.get("tool_use_id") in tool_owner]
        if owners:
            return [o for o in with_usage if key(o) == owners[0]] + [obj]
    # Else: the last response and the first user line after it (or the last one before it).
    last = with_usage[-1]
    at = next(i for i, o in enumerate(lines) if o is last)
    users = [o for o in lines[at + 1:] if o.get("type") == "user"] or \
            [o for o in lines[:at] if o.get("type") == "user"][-1:]
    return [o for o in with_usage if key(o) == key(last)] + users[:1]


@dataclass
class Appended:
    path: str
    bytes: int = 0
    lines: int = 0
    api_calls: int = 0           # new (message.id, requestId) keys
    total_tokens: int = 0        # their usage: per key the largest line total
    keys: set = field(default_factory=set, repr=False)


def append_usage(root: Path, path: Path, nbytes: int, seed: int, one_turn: bool = False) -> Appended:
    """Append about `nbytes` of new turns to `path`, shaped like its own last turn.

    Every copy gets new message ids, request ids, tool ids and uuids (parentUuid chained), later
    timestamps and its own token counts, so it is genuinely new usage; returns what it adds up to.
    The original size is journalled first so undo_appends() restores the generated history.
    With `one_turn`, a single copy is written instead, its largest text (the tool result) grown or
    cut so that the turn is about `nbytes`: one API response, as after one assistant message.
    """
    journal = root / JOURNAL
    sizes = json.loads(journal.read_text()) if journal.exists() else {}
    sizes.setdefault(str(path), os.path.getsize(path))
    journal.write_text(json.dumps(sizes))

    template = _template(path)
    ids = Ids(seed)
    rng = ids.rng
    stamps = [_ms(o["timestamp"]) for o in template if isinstance(o.get("timestamp"), str)]
    clock = max(stamps)
    first = min(stamps)
    last_assistant = max(i for i, o in enumerate(template) if o.get("type") == "assistant")
    parent = template[-1].get("uuid")
    result = Appended(str(path))
    out: list[bytes] = []
    while result.bytes < nbytes:
        mapping: dict[str, str] = {}

        def fresh(old):
            if isinstance(old, str) and old:
                mapping.setdefault(old, ids.like(old))
                return mapping[old]
            return old

        clock += rng.randint(2_000, 25_000)
        inp, out_final = rng.randint(3, 30), rng.randint(20, 1500)
        write, read = rng.randint(100, 3000), rng.randint(15_000, 160_000)
        tool_ids = []
        best: dict[tuple, int] = {}
        turn: list[dict] = []
        for index, obj in enumerate(template):
            line = json.loads(json.dumps(obj))
            line["uuid"] = ids.uuid()
            line["parentUuid"] = parent
            parent = line["uuid"]
            if isinstance(obj.get("timestamp"), str):
                line["timestamp"] = _iso(clock + _ms(obj["timestamp"]) - first)
            msg = line.get("message") if isinstance(line.get("message"), dict) else {}
            content = msg.get("content") if isinstance(msg.get("content"), list) else []
            if line.get("type") == "assistant":
                msg["id"] = fresh(msg.get("id"))
                line["requestId"] = fresh(line.get("requestId"))
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        block["id"] = fresh(block.get("id"))
                        tool_ids.append(block["id"])
                usage = msg.get("usage")
                if isinstance(usage, dict):
                    final = index == last_assistant   # earlier lines of a response carry a partial count
                    usage["input_tokens"] = inp
                    usage["output_tokens"] = out_final if final else min(out_final, rng.randint(1, 12))
                    usage["cache_read_input_tokens"] = read
                    usage["cache_creation_input_tokens"] = write
                    if isinstance(usage.get("cache_creation"), dict):
                        usage["cache_creation"] = {"ephemeral_5m_input_tokens": write,
                                                   "ephemeral_1h_input_tokens": 0}
                    key = (msg["id"], line.get("requestId"))
                    best[key] = max(best.get(key, 0), _usage_total(usage))
            elif line.get("type") == "user":
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        old = block.get("tool_use_id")
                        block["tool_use_id"] = mapping.get(old) or (tool_ids[-1] if tool_ids else fresh(old))
                if "promptId" in line:
                    line["promptId"] = ids.uuid()
            turn.append(line)
        if one_turn:
            _resize_turn(turn, nbytes)
        for line in turn:
            encoded = _encode(line)
            out.append(encoded)
            result.bytes += len(encoded)
            result.lines += 1
        clock += max(stamps) - first
        for key, total in best.items():
            if key not in result.keys:
                result.keys.add(key)
                result.api_calls += 1
                result.total_tokens += total
        if one_turn:
            break
    with open(path, "ab") as handle:
        handle.write(b"".join(out))
    return result


def _encode(line: dict) -> bytes:
    return (json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


FILLER = ("the module returns a value for each path; the handler updates the config and the test checks "
          "the result of the function in the file ")


def _text_slots(lines: list[dict]):
    """(container, key) of every string a turn carries as text: tool results first, then text/thinking."""
    results, texts = [], []
    for line in lines:
        msg = line.get("message") if isinstance(line.get("message"), dict) else {}
        content = msg.get("content") if isinstance(msg.get("content"), list) else []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                if isinstance(block.get("content"), str):
                    results.append((block, "content"))
                elif isinstance(block.get("content"), list):
                    results += [(b, "text") for b in block["content"]
                                if isinstance(b, dict) and isinstance(b.get("text"), str)]
            elif block.get("type") in ("text", "thinking") and isinstance(block.get(block["type"]), str):
                texts.append((block, block["type"]))
    return results or texts


def _resize_turn(lines: list[dict], nbytes: int) -> None:
    """Grow or cut the largest text of a turn so that its encoded lines add up to about nbytes."""
    slots = _text_slots(lines)
    if not slots:
        return
    holder, key = max(slots, key=lambda slot: len(slot[0][slot[1]]))
    for _ in range(4):
        delta = nbytes - sum(len(_encode(line)) for line in lines)
        if abs(delta) < 64:
            return
        text = holder[key]
        if delta > 0:
            holder[key] = text + (FILLER * (delta // len(FILLER) + 1))[:delta]
        else:
            holder[key] = text[:max(16, len(text) + delta)]


def append_turn_command(root: Path, path: Path, nbytes: int, log_path: Path, seed_base: int) -> list[str]:
    """A command (for hyperfine --prepare) appending one new turn of about nbytes to path, logged."""
    return [sys.executable, str(Path(__file__).resolve()), "append-turn", str(root), str(path), str(nbytes),
            str(log_path), "--seed-base", str(seed_base)]


def appended_totals(log_path: Path) -> dict:
    """What the append-turn commands logged in log_path added up to."""
    total = {"turns": 0, "bytes": 0, "lines": 0, "api_calls": 0, "total_tokens": 0}
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            entry = json.loads(line)
            total["turns"] += 1
            for key in ("bytes", "lines", "api_calls", "total_tokens"):
                total[key] += entry[key]
    return total


def _append_turn_cli(root: str, path: str, nbytes: int, log_path: str, seed_base: int) -> None:
    count = 0
    if os.path.exists(log_path):
        with open(log_path) as handle:
            count = sum(1 for _ in handle)
    added = append_usage(Path(root), Path(path), nbytes, seed=seed_base + count, one_turn=True)
    with open(log_path, "a") as handle:
        handle.write(json.dumps({"bytes": added.bytes, "lines": added.lines, "api_calls": added.api_calls,
                                 "total_tokens": added.total_tokens}) + "\n")


# ------------------------------------------------------------------------------------------ payloads

def hook_payloads(post: dict, stop: dict, session_id: str, transcript: str) -> tuple[dict, dict, dict]:
    """(PreToolUse, PostToolUse, Stop) payloads for one session, from the corpus' 2.1.332 shapes."""
    post = dict(post, session_id=session_id, transcript_path=transcript)
    pre = {k: v for k, v in post.items() if k not in ("tool_response", "duration_ms")}
    pre["hook_event_name"] = "PreToolUse"
    return pre, post, dict(stop, session_id=session_id, transcript_path=transcript)


def hook_shapes() -> tuple[dict, dict]:
    """The corpus' 2.1.332 PostToolUse (Bash) and Stop payloads, as they were captured."""
    corpus = shared_dir() / "corpus" / "payloads" / "hook"
    try:
        return (json.loads((corpus / "post_tool_use.bash.v2.1.332.json").read_text()),
                json.loads((corpus / "stop.v2.1.332.json").read_text()))
    except OSError as exc:
        raise Unavailable(f"hook payloads not found in {corpus}: {exc}") from None


def status_shape() -> dict:
    """The corpus' 2.1.332 status line payload (an API-key user's: no rate_limits)."""
    path = shared_dir() / "corpus" / "payloads" / "statusline" / "statusline.v2.1.332.api-key-user.json"
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise Unavailable(f"status line payload not found: {exc}") from None


def status_payload(shape: dict, session: Path, cwd: Path, rate_limits: bool) -> dict:
    """The 2.1.332 status JSON for the current session; with rate_limits as a subscriber's carries them
    (five_hour / seven_day, resets in the future)."""
    payload = json.loads(json.dumps(shape))
    payload.update(session_id=session.stem, transcript_path=str(session), cwd=str(cwd))
    payload["workspace"] = {"current_dir": str(cwd), "project_dir": str(cwd), "added_dirs": []}
    if rate_limits:
        now = int(time.time())
        payload["rate_limits"] = {"five_hour": {"used_percentage": 42, "resets_at": now + 2 * 3600 + 600},
                                  "seven_day": {"used_percentage": 15, "resets_at": now + 3 * 86400}}
    return payload


# ------------------------------------------------------------------------------------------ helper command

def _cli(argv: list[str]) -> int:
    """`append-turn`: what append_turn_command() runs (a hyperfine --prepare)."""
    import argparse
    ap = argparse.ArgumentParser(prog="bench/history.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    turn = sub.add_parser("append-turn", help="append one new turn of about NBYTES to PATH and log it")
    turn.add_argument("root")
    turn.add_argument("path")
    turn.add_argument("nbytes", type=int)
    turn.add_argument("log")
    turn.add_argument("--seed-base", type=int, default=0)
    args = ap.parse_args(argv)
    _append_turn_cli(args.root, args.path, args.nbytes, args.log, args.seed_base)
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
