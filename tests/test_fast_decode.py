"""A bulk ingest decodes with orjson; whatever it reads must come out exactly as the stdlib path reads it.

Same records, same skip counts, same offsets, on every corpus transcript and on every poisoned line."""
from __future__ import annotations

import json

import orjson
import pytest

from ccledger.ledger import transcript
from test_faults_inputs import POISON

INFO = transcript.FileInfo(1, "p", "", "")


def scanned(data: bytes, fast: bool) -> tuple:
    s = transcript.scan(data, 0, INFO, fast_loads=orjson.loads if fast else None)
    return s.calls, s.tools, s.items, s.limits, s.skipped, s.lines, s.first_ts, s.end


def test_every_corpus_transcript_reads_the_same(corpus):
    files = sorted(corpus.rglob("*.jsonl"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert scanned(data, True) == scanned(data, False), path.name


@pytest.mark.parametrize("name", sorted(POISON))
def test_every_poisoned_line_is_skipped_the_same_way(name):
    line = POISON[name][0]
    good = json.dumps({"type": "assistant", "sessionId": "s", "timestamp": "2026-03-01T10:00:00.000Z",
                       "requestId": "r", "message": {"id": "m", "model": "claude-sonnet-4-5-20250929",
                                                     "usage": {"input_tokens": 1, "output_tokens": 2}}}).encode()
    data = good + b"\n" + (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" + good + b"\n"
    assert scanned(data, True) == scanned(data, False)
