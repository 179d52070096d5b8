"""Claude Code transcript lines (wire format) -> ledger facts (our records).

One API response is written as one line per content block, each repeating
message.id, requestId and usage; `progress` (agent_progress) lines carry copies
of a subagent's lines; subagent files and inline `isSidechain` lines hold
subagent traffic. This module turns a range of bytes into plain records and
counts every line it cannot use by reason. It never raises on bad input.
Deduplication across chunks and files happens in the ledger (ingest.py).
"""
from __future__ import annotations

from collections import namedtuple

from ..base.fastjson import DECODE_ERRORS
from ..base.fastjson import dumps as _dumps
from ..base.fastjson import scan_once as _scan_once

IMAGE_SIZE = 6400  # an image counts as ~1,600 tokens whatever its base64 length
LIMIT_MARK = "limit reached|"
# Line types that never carry usage, tool calls or context growth: not even parsed.
_IGNORED_PREFIXES = (b'{"type":"api-request', b'{"type":"file-history-snapshot"', b'{"type":"queue-operation"',
                     b'{"type":"tools-used"', b'{"type":"last-prompt"', b'{"type":"atis-latch"',
                     b'{"type":"cost-state"', b'{"type":"summary"', b'{"type":"ai-title"')
# Of those, Claude Code 2.1.3xx's request content: a blob (one message of a request, content-addressed) that
# holds a tool result's placeholder says that result left the context; the request line after it says when.
_BLOB = b'{"type":"api-request-blob"'
_REQUEST = b'{"type":"api-request",'
_CLEARED = ("[Old tool result content cleared]", "<persisted-output>")  # what stands in a result's place
_CLEARED_MARKS = tuple(mark.encode() for mark in _CLEARED)


class FileInfo(namedtuple("FileInfo", "file_id project session_id agent_id")):
    """Who a transcript file belongs to. session_id is '' when it must come from the lines (old
    agent-*.jsonl files beside the sessions); agent_id comes from an agent-<id>.jsonl name, else ''."""
    __slots__ = ()


# Field positions of an API call record (a list, for speed).
(C_MID, C_RID, C_SESSION, C_AGENT, C_SIDE, C_MODEL, C_TS, C_IN, C_CW5, C_CW1H, C_CR, C_OUT, C_TOTAL,
 C_SPEED, C_GEO, C_WEB, C_SOURCE, C_OFFSET, C_TEXT) = range(19)
# Field positions of a tool call record; None where this range did not say.
(T_SESSION, T_AGENT, T_MID, T_RID, T_NAME, T_INPUT, T_START, T_RESULT, T_STATUS, T_END, T_PROMPT,
 T_SUBAGENT) = range(12)


def _tool(tools: dict, tool_id: str, session: str, agent: str) -> list:
    record = tools.get(tool_id)
    if record is None:
        record = tools[tool_id] = [session, agent, None, None, None, None, None, None, None, None, None, None]
    return record


class Scan:
    """Everything learned from one range of a file."""

    __slots__ = ("calls", "tools", "items", "limits", "skipped", "lines", "first_ts", "end", "cwd", "agent_types")

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], list] = {}
        self.tools: dict[str, list] = {}        # tool_use_id -> T_* fields, from its tool_use and/or result
        self.items: list[tuple] = []            # (offset, idx, session, agent, ts, kind, size, owner): context
        self.limits: list[tuple] = []           # (session, ts, reset_ms)
        self.skipped: dict[str, int] = {}
        self.lines = 0
        self.first_ts: int | None = None
        self.end = 0                            # absolute offset after the last complete line consumed
        self.cwd: str | None = None             # the first `cwd` a line of the range names (reports show it)
        self.agent_types: dict[str, str] = {}   # Agent/Task tool_use_id -> the subagent type it started

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


# Values no real line holds: skipped and counted as `out_of_range`, so one poisoned line never stops an
# ingest or overflows a report. MAX_TOKENS is 1,000x the largest context window (1M) for each usage field
# of one request; even at that bound 2**63 / (5 * MAX_TOKENS) = 1.8 billion requests fit in any SUM.
# Timestamps must fall in [2000-01-01, 2200-01-01) UTC, where every time zone has a calendar date.
MAX_TOKENS = 10**9
TS_MIN_MS = 946684800000     # 2000-01-01T00:00:00Z
TS_MAX_MS = 7258118400000    # 2200-01-01T00:00:00Z


class OutOfRange(ValueError):
    """A usage number above MAX_TOKENS (or an infinite one)."""


_fast_calls = 0
FAST_CALLS = 512  # after this many timestamps in one process (a bulk ingest), datetime's C parser pays off


def _civil_ms(y: int, mo: int, d: int, secs: int, ms: int) -> int:
    """Epoch milliseconds of a UTC date and time (Howard Hinnant's days_from_civil)."""
    y -= mo <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    return ((era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468) * 86400 + secs) * 1000 + ms


def _month_days(y: int, mo: int) -> int:
    if mo == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if mo in (4, 6, 9, 11) else 31


def parse_ts(value: object) -> int | None:
    """ISO-8601 (Z or offset, any fraction) -> epoch milliseconds; None if unusable.

    Claude Code writes `2026-11-30T14:00:01.234Z`. A hook or status line parses
    a handful of those: done here in Python, which spares them importing
    datetime (~2 ms). A bulk ingest parses millions: datetime's C parser.
    """
    global _fast_calls
    if type(value) is not str or len(value) < 19:
        return None
    if _fromiso is not None:
        return _parse_ts_datetime(value)
    if _fast_calls < FAST_CALLS and len(value) == 24 and value[23] == "Z" and value[19] == "." \
            and value[4] == value[7] == "-" and value[10] == "T" and value[13] == value[16] == ":":
        _fast_calls += 1
        try:
            mo, d = int(value[5:7]), int(value[8:10])
            h, mi, s = int(value[11:13]), int(value[14:16]), int(value[17:19])
            y = int(value[0:4])
            if 1 <= mo <= 12 and 1 <= d <= _month_days(y, mo) and h < 24 and mi < 60 and s < 60:
                return _civil_ms(y, mo, d, h * 3600 + mi * 60 + s, int(value[20:23]))
        except ValueError:
            return None
    return _parse_ts_datetime(value)


_fromiso = None  # datetime.fromisoformat, bound on first use
_utc = None


def _parse_ts_datetime(value: str) -> int | None:
    global _fromiso, _utc
    if _fromiso is None:
        import datetime
        _fromiso, _utc = datetime.datetime.fromisoformat, datetime.timezone.utc
    try:
        moment = _fromiso(value)
    except ValueError:
        moment = _parse_ts_slow(value)
        if moment is None:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_utc)
    try:
        return round(moment.timestamp() * 1000)
    except (OverflowError, ValueError):  # an offset that pushes year 1 or 9999 off the calendar
        return None


def _parse_ts_slow(value: str):
    """What Python 3.10's fromisoformat refuses: a trailing Z, fractions of other than 3 or 6 digits."""
    import datetime as dt
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    head, sep, frac = value.partition(".")
    if sep:
        digits = len(frac) - len(frac.lstrip("0123456789"))
        value = f"{head}.{frac[:digits][:6].ljust(6, '0')}{frac[digits:]}"
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _count(value: object) -> int:
    """A token count: int, integral float, or null (0). Above MAX_TOKENS: OutOfRange; anything else
    (negative, fractional, NaN, a string) is bad usage (ValueError)."""
    kind = type(value)
    if kind is int or kind is float:
        if value > MAX_TOKENS:  # type: ignore[operator]
            raise OutOfRange
        if value >= 0 and value == int(value):  # type: ignore[operator,call-overload]
            return int(value)  # type: ignore[call-overload]
    elif value is None:
        return 0
    raise ValueError


def usage_tokens(usage: dict) -> tuple[int, int, int, int, int]:
    """(input, cache write 5m, cache write 1h, cache read, output).

    The cache_creation split is preferred when it accounts for the writes; a
    total larger than the split (seen when the split is zero-filled) is kept,
    the unexplained part priced as 5-minute writes.
    """
    inp = usage.get("input_tokens")
    cr = usage.get("cache_read_input_tokens")
    out = usage.get("output_tokens")
    total_write = usage.get("cache_creation_input_tokens")
    if not (type(inp) is int and type(cr) is int and type(out) is int and type(total_write) is int
            and 0 <= inp <= MAX_TOKENS and 0 <= cr <= MAX_TOKENS and 0 <= out <= MAX_TOKENS
            and 0 <= total_write <= MAX_TOKENS):
        inp, cr, out, total_write = _count(inp), _count(cr), _count(out), _count(total_write)
    split = usage.get("cache_creation")
    if type(split) is dict:
        cw5 = _count(split.get("ephemeral_5m_input_tokens"))
        cw1h = _count(split.get("ephemeral_1h_input_tokens"))
        if total_write > cw5 + cw1h:
            cw5 += total_write - cw5 - cw1h
    else:
        cw5, cw1h = total_write, 0
    return inp, cw5, cw1h, cr, out


def utf8_len(text: str) -> int:
    """Bytes of `text` in UTF-8, without building them when it is ASCII (an O(1) check in CPython)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _text_size(content: object) -> int:
    """UTF-8 bytes of a message's text blocks; an image counts IMAGE_SIZE."""
    if type(content) is str:
        return utf8_len(content)
    size = 0
    if type(content) is list:
        for block in content:
            if type(block) is dict:
                kind = block.get("type")
                if kind == "text":
                    size += utf8_len(block.get("text") or "")
                elif kind == "image":
                    size += IMAGE_SIZE
    return size


def _result_text(block: dict) -> str:
    """The text of a tool_result block (its text parts joined)."""
    text = block.get("content")
    if type(text) is list:
        text = " ".join(b.get("text") or "" for b in text if type(b) is dict)
    return text if type(text) is str else ""


def _result_status(block: dict, line: dict) -> str:
    extra = line.get("toolUseResult")
    text = _result_text(block)
    if (type(extra) is dict and extra.get("interrupted")) or text.startswith("[Request interrupted"):
        return "interrupted"
    if "doesn't want to proceed" in text[:200] or "permission to use" in text[:200].lower():
        return "denied"
    return "error" if block.get("is_error") else "ok"


class _Reader:
    """Per-range state; one instance per scan() call."""

    def __init__(self, info: FileInfo, scan: Scan) -> None:
        self.info = info
        self.scan = scan
        self.last_ts: int | None = None     # the last time a line of the range gave
        self.unstamped: list[list] = []     # 'cleared' items waiting for the time of the request they belong to
        self.threads: dict[str, str] = {}   # uuid of a 1.0.x inline subagent line -> its chain (see thread())
        self.task_prompts: dict[str, str] = {}  # prompt of a Task/Agent call -> its tool_use_id (held, not stored)

    def line(self, obj: dict, offset: int, source: str, forced_agent: str | None) -> None:
        kind = obj.get("type")
        if kind == "assistant":
            self.assistant(obj, offset, source, forced_agent)
        elif kind == "user":
            self.user(obj, offset, forced_agent)
        elif kind == "progress":
            data = obj.get("data")
            if type(data) is dict and data.get("type") == "agent_progress":
                inner = data.get("message")
                agent = data.get("agentId")
                agent = agent if type(agent) is str else "sidechain"
                parent = obj.get("parentToolUseID")
                if type(parent) is str and agent != "sidechain":
                    session, _, _ = self._identity(obj, None)
                    _tool(self.scan.tools, parent, session, "")[T_SUBAGENT] = agent
                if type(inner) is dict:
                    self.line(inner, offset, "progress", agent)
        elif kind == "system":
            if obj.get("subtype") == "compact_boundary":
                self.item(obj, offset, 0, forced_agent, "compact", 0)
        elif kind == "api-request-blob":
            self.blob(obj, offset)
        elif kind == "api-request":
            self.stamp(obj, None)  # the time of the cleared results its blobs named
        elif kind == "attachment":
            rendered = obj.get("rendered")
            if type(rendered) is list:
                size = sum(len(r.get("content") or "") for r in rendered if type(r) is dict)
                self.item(obj, offset, 0, forced_agent, "other", size)

    def _identity(self, obj: dict, forced_agent: str | None) -> tuple[str, str, bool]:
        info = self.info
        if forced_agent is None and info.session_id and obj.get("isSidechain") is not True:
            agent = info.agent_id or obj.get("agentId") or ""
            return info.session_id, agent if type(agent) is str else "", False
        session = info.session_id or obj.get("sessionId") or ""
        side = forced_agent is not None or obj.get("isSidechain") is True
        if forced_agent is not None:
            agent = forced_agent
        else:
            agent = self.info.agent_id or obj.get("agentId") or (self.thread(obj, session) if side else "")
        return session, agent if type(agent) is str else "", side

    def thread(self, obj: dict, session: str) -> str:
        """Claude Code 1.0.x wrote its subagents' lines into the session file, marked isSidechain but with no
        agent id, and parallel subagents interleave there. Each follows its own parentUuid links from a first
        line (the Task prompt): it is the chain 'sidechain-<that line's uuid, 8 hex>', started by the Task call
        whose prompt it is. A line whose thread began before this range stays in the chain 'sidechain'."""
        uuid, parent = obj.get("uuid"), obj.get("parentUuid")
        if parent is None and "parentUuid" in obj and type(uuid) is str and uuid:
            agent = f"sidechain-{uuid[:8]}"
            msg = obj.get("message")
            prompt = msg.get("content") if type(msg) is dict else None
            call = self.task_prompts.get(prompt) if type(prompt) is str else None
            if call is not None:
                _tool(self.scan.tools, call, session, "")[T_SUBAGENT] = agent
        else:
            agent = self.threads.get(parent, "sidechain") if type(parent) is str else "sidechain"
        if type(uuid) is str:
            self.threads[uuid] = agent
        return agent

    def stamp(self, obj: dict, missing: str | None) -> int | None:
        """The line's time in epoch ms, or None after counting why not: `missing` (when given) if it has no
        usable timestamp, `out_of_range` if it lies outside [TS_MIN_MS, TS_MAX_MS)."""
        ts = parse_ts(obj.get("timestamp"))
        if ts is not None and TS_MIN_MS <= ts < TS_MAX_MS:
            self.last_ts = ts
            if self.unstamped:
                self.stamp_cleared(ts)
            return ts
        if ts is not None or missing:
            self.scan.skip("out_of_range" if ts is not None else missing)  # type: ignore[arg-type]
        return None

    def item(self, obj: dict, offset: int, idx: int, forced_agent: str | None, kind: str, size: int) -> None:
        ts = self.stamp(obj, None)
        if ts is None:
            return
        session, agent, _ = self._identity(obj, forced_agent)
        self.scan.items.append((offset, idx, session, agent, ts, kind, size, None))

    def blob(self, obj: dict, offset: int) -> None:
        """A message of a request (2.1.3xx): each tool result in it that holds a placeholder in place of its
        content left the context (microcompaction, or a result saved to a file): a 'cleared' item naming the
        tool call, with the bytes the request still holds of it. Its time is the next line's (the request)."""
        msg = obj.get("message")
        content = msg.get("content") if type(msg) is dict else None
        if type(content) is not list:
            return
        session, agent, _ = self._identity(obj, None)
        for idx, block in enumerate(content):
            if type(block) is dict and block.get("type") == "tool_result" and type(block.get("tool_use_id")) is str:
                text = _result_text(block)
                if _CLEARED[0] in text or _CLEARED[1] in text:
                    self.unstamped.append([offset, idx, session, agent, None, "cleared",
                                           _text_size(block.get("content")), block["tool_use_id"]])

    def stamp_cleared(self, ts: int) -> None:
        for item in self.unstamped:
            item[4] = ts
            self.scan.items.append(tuple(item))
        self.unstamped = []

    def assistant(self, obj: dict, offset: int, source: str, forced_agent: str | None) -> None:
        scan = self.scan
        msg = obj.get("message")
        if type(msg) is not dict:
            return scan.skip("assistant_without_message")
        usage = msg.get("usage")
        if type(usage) is not dict:
            return scan.skip("assistant_without_usage")
        ts = self.stamp(obj, "bad_timestamp")
        if ts is None:
            return None
        web = usage.get("server_tool_use")
        searches = web.get("web_search_requests") if type(web) is dict else 0
        try:
            inp, cw5, cw1h, cr, out = usage_tokens(usage)
            if type(searches) is int and searches > MAX_TOKENS:
                raise OutOfRange
        except OutOfRange:
            return scan.skip("out_of_range")
        except (ValueError, OverflowError):
            return scan.skip("bad_usage")
        first = scan.first_ts
        if first is None or ts < first:
            scan.first_ts = ts
        session, agent, side = self._identity(obj, forced_agent)
        mid = msg.get("id")
        if type(mid) is not str or not mid:
            mid = f"noid:{self.info.file_id}:{offset}"
        rid = obj.get("requestId")
        if type(rid) is not str:
            rid = ""
        text = self.content(msg.get("content"), session, agent, mid, rid, ts)
        total = inp + cw5 + cw1h + cr + out
        key = (mid, rid)
        calls = scan.calls
        old = calls.get(key)
        if old is not None:
            if text > old[C_TEXT]:
                old[C_TEXT] = text
            if total < old[C_TOTAL] or (total == old[C_TOTAL] and old[C_SIDE] <= side):
                return
            text = old[C_TEXT]
        model = msg.get("model")
        geo = usage.get("inference_geo")
        calls[key] = [mid, rid, session, agent, side, model if type(model) is str else "", ts, inp, cw5, cw1h, cr,
                      out, total, "fast" if usage.get("speed") == "fast" else "standard",
                      geo if type(geo) is str else "", max(searches, 0) if type(searches) is int else 0, source, offset,
                      text]
        if obj.get("isApiErrorMessage"):
            self.limit(msg, session, ts)

    def content(self, content: object, session: str, agent: str, mid: str, rid: str, ts: int) -> int:
        """Record tool_use blocks; return the size of text and thinking."""
        if type(content) is not list:
            return len(content) if type(content) is str else 0
        text = 0
        for block in content:
            if type(block) is not dict:
                continue
            kind = block.get("type")
            if kind == "tool_use":
                tool_id = block.get("id")
                if type(tool_id) is str:
                    name = block.get("name")
                    record = _tool(self.scan.tools, tool_id, session, agent)
                    record[T_MID] = mid
                    record[T_RID] = rid
                    record[T_NAME] = name if type(name) is str else ""
                    record[T_INPUT] = utf8_len(_dumps(block.get("input")))
                    record[T_START] = ts
                    if name == "Agent" or name == "Task":
                        args = block.get("input")
                        kind = args.get("subagent_type") if type(args) is dict else None
                        if type(kind) is str and kind:
                            self.scan.agent_types[tool_id] = kind
                        if type(args) is dict and type(args.get("prompt")) is str:
                            self.task_prompts[args["prompt"]] = tool_id
            elif kind == "text":
                text += len(block.get("text") or "")
            elif kind == "thinking":
                text += len(block.get("thinking") or "")
        return text

    def limit(self, msg: dict, session: str, ts: int) -> None:
        for block in msg.get("content") or ():
            text = block.get("text") if type(block) is dict else None
            if type(text) is str and LIMIT_MARK in text:
                tail = text.split(LIMIT_MARK, 1)[1].strip()
                reset = int(tail[:10]) * 1000 if tail[:10].isascii() and tail[:10].isdigit() else 0
                if TS_MIN_MS <= reset < TS_MAX_MS:
                    self.scan.limits.append((session, ts, reset))

    def user(self, obj: dict, offset: int, forced_agent: str | None) -> None:
        msg = obj.get("message")
        if type(msg) is not dict:
            return
        content = msg.get("content")
        if obj.get("isCompactSummary"):
            return self.item(obj, offset, 0, forced_agent, "summary", _text_size(content))
        meta = obj.get("isMeta") is True
        if type(content) is str:
            kind = "other" if meta or content.startswith("<") else "user"
            return self.item(obj, offset, 0, forced_agent, kind, len(content))
        if type(content) is not list:
            return
        ts = self.stamp(obj, "bad_timestamp")
        if ts is None:
            return None
        session, agent, _ = self._identity(obj, forced_agent)
        prompt = obj.get("promptId")
        for idx, block in enumerate(content):
            if type(block) is not dict:
                continue
            kind = block.get("type")
            if kind == "tool_result":
                tool_id = block.get("tool_use_id")
                if type(tool_id) is not str:
                    continue
                record = _tool(self.scan.tools, tool_id, session, agent)
                record[T_RESULT] = _text_size(block.get("content"))
                record[T_STATUS] = _result_status(block, obj)
                record[T_END] = ts
                record[T_PROMPT] = prompt if type(prompt) is str else None
                extra = obj.get("toolUseResult")
                if type(extra) is dict and type(extra.get("agentId")) is str:
                    record[T_SUBAGENT] = extra["agentId"]
                    if type(extra.get("agentType")) is str and extra["agentType"]:
                        self.scan.agent_types[tool_id] = extra["agentType"]
            elif kind in ("text", "image"):
                size = _text_size([block])
                text = block.get("text") or ""
                item_kind = "other" if meta or text.startswith("<") or text.startswith("[Request interrupted") \
                    else "user"
                self.scan.items.append((offset, idx, session, agent, ts, item_kind, size, None))


_UNREAD = object()


def scan(data: bytes, start: int, info: FileInfo, first_line: bool = True, fast_loads=None) -> Scan:
    """Read the complete lines of `data` (which begins at absolute offset `start`).

    A trailing partial line is left for next time: `Scan.end` stops before it.
    `first_line` False means `data` may begin mid-line: skip to the first newline.
    `fast_loads` (a bulk ingest's orjson.loads: bytes in, the same objects out) decodes a line first;
    whatever it refuses (invalid UTF-8, NaN, huge integers, deep nesting) takes the stdlib path, so
    the records and the skip counts are the same either way.
    """
    result = Scan()
    reader = _Reader(info, result)
    pos = 0
    if not first_line:
        pos = data.find(b"\n") + 1
        if pos == 0:
            result.end = start
            return result
    last = data.rfind(b"\n") + 1
    result.lines = data.count(b"\n", pos, last)  # every line of the loop below, whatever becomes of it
    find = data.find
    assistant, user = reader.assistant, reader.user
    while pos < last:
        nl = find(b"\n", pos)
        offset = start + pos
        line = data[pos:nl]
        pos = nl + 1
        begin = 0
        if line[:1] != b"{":
            head = line.lstrip()
            if not head:
                result.skip("blank")
                continue
            if head[:1] != b"{":
                result.skip("comment" if head[:2] == b"//" else "not_json")
                continue
            begin = len(line) - len(head)
        elif line.startswith(_IGNORED_PREFIXES):
            if not ((line.startswith(_BLOB) and (_CLEARED_MARKS[0] in line or _CLEARED_MARKS[1] in line))
                    or (reader.unstamped and line.startswith(_REQUEST))):
                continue
        if b'"type":"progress"' in line and b'"agent_progress"' not in line:
            continue
        obj = _UNREAD
        if fast_loads is not None:
            try:
                obj = fast_loads(line)
            except ValueError:
                pass
        if obj is _UNREAD:
            try:
                text = line.decode("utf-8", "replace")
                line = b""  # held once while parsed (as text): a long line costs ~3x its size, not 4x
                obj, end = _scan_once(text, begin)
                if end != len(text) and text[end:].strip():
                    raise ValueError("extra data")
            except DECODE_ERRORS:
                result.skip("invalid_json")
                continue
        if type(obj) is not dict:
            result.skip("not_object")
            continue
        if result.cwd is None:
            cwd = obj.get("cwd")
            if type(cwd) is str and cwd:
                result.cwd = cwd
        try:
            kind = obj.get("type")
            if kind == "assistant":
                assistant(obj, offset, "line", None)
            elif kind == "user":
                user(obj, offset, None)
            else:
                reader.line(obj, offset, "line", None)
        except Exception:  # a shape we did not foresee: count it, keep going
            result.skip("unexpected_shape")
    if reader.unstamped and reader.last_ts is not None:  # the range ends between a blob and its request
        reader.stamp_cleared(reader.last_ts + 1)
    result.end = start + last
    return result
