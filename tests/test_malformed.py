"""Every kind of damaged line is counted by reason; the valid lines around it are kept."""
from __future__ import annotations

import json

from conftest import cli

SESSION = "11111111-2222-3333-4444-555555555555"


def assistant(n: int, **overrides) -> dict:
    line = {"parentUuid": None, "isSidechain": False, "type": "assistant", "sessionId": SESSION,
            "timestamp": f"2026-03-01T10:00:{n:02d}.000Z", "requestId": f"req_{n}",
            "message": {"id": f"msg_{n}", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                        "content": [{"type": "text", "text": "hi"}],
                        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 100,
                                  "cache_read_input_tokens": 1000}}}
    for key, value in overrides.items():
        target = line
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    return line


def write(claude_dir, lines: list) -> None:
    path = claude_dir / "projects" / "-home-dev-proj" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join((x if isinstance(x, bytes) else json.dumps(x).encode()) + b"\n" for x in lines))


def test_each_malformed_kind_is_counted_and_valid_neighbours_kept(claude_dir):
    valid = [
        assistant(1),
        assistant(2, **{"requestId": None}),                       # null requestId: keyed on message.id
        assistant(3, **{"message.usage.cache_read_input_tokens": None}),  # null count = 0
        assistant(4, **{"message.usage.output_tokens": 5.0}),      # integral float
        assistant(5, **{"timestamp": "2026-03-01T10:00:05.123456Z"}),  # microseconds
        assistant(6, **{"timestamp": "2026-03-01T19:00:06.000+09:00"}),  # offset
        json.dumps(assistant(7), indent=None, separators=(", ", ": ")).encode(),  # spaces after colons
        assistant(8, **{"message.usage.speed": None}),
    ]
    broken = [
        b"// a comment a fixture author added",
        b'{"type":"assistant","message":{"id":"msg_x","usage":{"input_tokens":5,"output',  # truncated
        b'{"type":"assistant","requestId":"r[REDACTED_IP]"x,"message":{}}',  # redaction damage
        b"null",
        b"[1, 2]",
        b"   ",
        b"{",  # a pretty-printed object spread over lines
        b'  "type": "assistant"',
        b"}",
        json.dumps(assistant(9, **{"message.usage.output_tokens": "12"})).encode(),  # string count
        json.dumps(assistant(10, **{"message.usage.input_tokens": -3})).encode(),
        json.dumps(assistant(11, **{"timestamp": "yesterday at noon"})).encode(),
        json.dumps({"type": "assistant", "timestamp": "2026-03-01T10:00:00Z", "message": None}).encode(),
        json.dumps({"type": "assistant", "timestamp": "2026-03-01T10:00:00Z", "message": {"id": "m"}}).encode(),
        b"\xff\xfe not utf-8 at all",
    ]
    lines = [line for pair in zip(valid, broken) for line in pair] + broken[len(valid):]
    write(claude_dir, lines)
    body = cli("report", "daily", "--json").json()
    assert body["skipped"] == {"comment": 1, "invalid_json": 3, "blank": 1, "not_json": 5,
                               "bad_usage": 2, "bad_timestamp": 1, "assistant_without_message": 1,
                               "assistant_without_usage": 1}
    totals = body["totals"]
    assert totals["requests"] == len(valid)
    assert (totals["input_tokens"], totals["output_tokens"]) == (10 * len(valid), 5 * len(valid))
    assert totals["cache_read_tokens"] == 1000 * (len(valid) - 1)


def test_doctor_names_the_file_and_reason(claude_dir):
    write(claude_dir, [assistant(1), b"// comment", b"{broken"])
    result = cli("doctor", "--json")
    rows = result.json()["skipped_by_file"]
    assert {(r["reason"], r["count"]) for r in rows} == {("comment", 1), ("invalid_json", 1)}
    assert all(r["path"].endswith(f"{SESSION}.jsonl") for r in rows)
