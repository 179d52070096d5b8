"""The config file's schema, validated in the CLI (the hot path reads the same file as plain dicts).

Types are strict on purpose: the hot path trusts what `ccledger config check`
accepts, so `tokens = "500000"` is an error here rather than a string there.
Unknown keys are kept (extra="allow") and reported as warnings, so a typo is
pointed out and a newer file still works with an older ccledger. Every
problem names its dotted key and the line it is on; tomllib gives no
positions, so the line is found by scanning the text (toml_text.line_of).

Defaults live here and in ccledger.statusline.render (the status line's own);
`effective()` merges them with the file for `ccledger config show`.
"""
from __future__ import annotations

import difflib
import math
import os
import re
import string
import sys
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from ..base import paths
from ..base.errors import CcledgerError
from . import read as userconfig
from . import statusline_keys, toml_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

Action = Literal["none", "ask", "deny", "block"]
Segment = Literal[tuple(statusline_keys.DEFAULT_SEGMENTS)]  # type: ignore[valid-type]
CHAIN_TIMEOUT_S = 1.0  # ccledger.statusline.entry.CHAIN_TIMEOUT_S


def _number(high: float = math.inf, integer: bool = False, zero: bool = False) -> PlainValidator:
    """A TOML int (or float unless `integer`) above 0 (or from 0) up to `high`; bools and strings refused."""
    kind = "an integer" if integer else "a number"
    bounds = ("0 or more" if zero else "more than 0") + ("" if math.isinf(high) else f" and at most {high:g}")

    def check(value: Any) -> Any:
        if type(value) not in ((int,) if integer else (int, float)) or not math.isfinite(value):
            raise PydanticCustomError("number", f"should be {kind}, got {value!r}")
        if value < 0 or (value == 0 and not zero) or value > high:
            raise PydanticCustomError("range", f"should be {bounds}, got {value!r}")
        return value
    return PlainValidator(check)


Positive = Annotated[float, _number()]
Count = Annotated[int, _number(integer=True)]
Price = Annotated[float, _number(zero=True)]  # free (local) models exist
WarnPercent = Annotated[float, _number(1000)]
Percent = Annotated[float, _number(100)]


def _template(value: str) -> str:
    try:
        list(string.Formatter().parse(value))
    except ValueError as exc:
        raise PydanticCustomError("template", f"not a valid format template: {exc}") from None
    return value


def _absolute(value: str) -> str:
    if not os.path.isabs(value):
        raise PydanticCustomError("path", "should be an absolute path (it is matched against the session's cwd)")
    return value


def _pair(value: list) -> list:
    if len(value) != 2 or value[0] > value[1]:
        raise PydanticCustomError("pair", "should be [warn, danger] with warn <= danger")
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Limit(Section):
    warn: list[WarnPercent] = Field(default_factory=lambda: [50, 80, 95])
    action: Action = "none"


class PercentLimit(Limit):
    limit: Percent = 100


class CostLimit(Limit):
    usd: Optional[Positive] = None


class TokenLimit(Limit):
    tokens: Optional[Count] = None


class ToolResultLimit(TokenLimit):
    warn: list[WarnPercent] = Field(default_factory=lambda: [100])


class McpServerLimit(Section):
    """A per-server override: whatever is not set here comes from [budgets.mcp]."""
    usd: Optional[Positive] = None
    carried_tokens: Optional[Count] = None
    warn: Optional[list[WarnPercent]] = None
    action: Optional[Action] = None


class McpLimit(Limit):
    usd: Optional[Positive] = None
    carried_tokens: Optional[Count] = None
    servers: dict[str, McpServerLimit] = Field(default_factory=dict)


class Budgets(Section):
    notify_model: bool = False
    window: PercentLimit = Field(default_factory=PercentLimit)
    week: PercentLimit = Field(default_factory=PercentLimit)
    daily: CostLimit = Field(default_factory=CostLimit)
    weekly: CostLimit = Field(default_factory=CostLimit)
    monthly: CostLimit = Field(default_factory=CostLimit)
    session: TokenLimit = Field(default_factory=TokenLimit)
    tool_result: ToolResultLimit = Field(default_factory=ToolResultLimit)
    mcp: McpLimit = Field(default_factory=McpLimit)


class Statusline(Section):
    segments: list[Segment] = Field(default_factory=lambda: list(statusline_keys.DEFAULT_SEGMENTS))
    second_line: list[Segment] = Field(default_factory=list)
    separator: str = " │ "
    colors: bool = True
    chain_timeout: Annotated[float, _number(60)] = CHAIN_TIMEOUT_S
    thresholds: dict[Segment, Annotated[list[Positive], AfterValidator(_pair)]] = Field(default_factory=dict)
    format: dict[Segment, Annotated[str, AfterValidator(_template)]] = Field(default_factory=dict)


class ModelPrice(Section):
    """USD per million tokens; the cache rates default to Anthropic's multiples of `input`."""
    input: Price
    output: Price
    cache_write_5m: Optional[Price] = None
    cache_write_1h: Optional[Price] = None
    cache_read: Optional[Price] = None
    fast_multiplier: Optional[Positive] = None


class Privacy(Section):
    """The ledger keeps names, sizes, counts, ids, times and tokens; text a tool was given only if asked."""
    store_descriptions: bool = False  # a subagent's `description` (part of its Agent/Task call's input)


class Project(Section):
    budgets: Budgets = Field(default_factory=Budgets)


class Config(Section):
    statusline: Statusline = Field(default_factory=Statusline)
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    budgets: Budgets = Field(default_factory=Budgets)
    projects: dict[Annotated[str, AfterValidator(_absolute)], Project] = Field(default_factory=dict)
    privacy: Privacy = Field(default_factory=Privacy)


@dataclass(frozen=True)
class Issue:
    """One problem or warning: its dotted key (None for a syntax error), its 1-based line, what is wrong."""
    key: Optional[str]
    line: Optional[int]
    message: str

    def __str__(self) -> str:
        if self.key is None:
            return self.message
        return f"{self.key} (line {self.line or '?'}): {self.message}"


class ConfigError(CcledgerError):
    """An invalid config file; `issues` has one entry per problem."""

    def __init__(self, path: str, issues: list[Issue], note: str = "") -> None:
        more = f" (and {len(issues) - 1} more; see `ccledger config check`)" if len(issues) > 1 else ""
        super().__init__(f"{path}: {issues[0]}{more}{'; ' + note if note else ''}")
        self.path, self.issues = path, issues


def parse(text: str, path: str = "config.toml") -> dict:
    """The TOML document; a syntax error is a ConfigError whose message carries tomllib's position."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        raise ConfigError(path, [Issue(None, int(found.group(1)) if found else None, str(exc))]) from None


def _issue(text: str, loc: tuple, message: str, missing: bool = False) -> Issue:
    """`missing`: the key is not in the file, so point at the table that lacks it."""
    keys = [str(part) for part in loc if not isinstance(part, int) and part != "[key]"]
    return Issue(toml_text.dotted(keys), toml_text.line_of(text, keys[:-1] if missing else keys), message)


def _unknown(model: BaseModel, loc: tuple, text: str) -> list[Issue]:
    """Walk the validated model: every key it did not declare is a warning (with a suggestion when close)."""
    found: list[Issue] = []
    for key in model.model_extra or {}:
        close = difflib.get_close_matches(key, list(type(model).model_fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        found.append(_issue(text, loc + (key,), f"unknown key, ignored{hint}"))
    for name in type(model).model_fields:
        value = getattr(model, name)
        children = value.items() if isinstance(value, dict) else [(None, value)]
        for key, child in children:
            if isinstance(child, BaseModel):
                found += _unknown(child, loc + ((name,) if key is None else (name, key)), text)
    return found


def validate(data: dict, text: str = "", path: str = "config.toml") -> tuple[Config, list[Issue]]:
    """The model and its warnings (unknown keys); ConfigError naming key and line for invalid values."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        issues = [_issue(text, e["loc"], e["msg"], e["type"] == "missing") for e in exc.errors()]
        raise ConfigError(path, sorted(issues, key=lambda i: i.line or 1 << 30)) from None
    return config, _unknown(config, (), text)


def load(path: Optional[str] = None) -> tuple[Config, list[Issue]]:
    """The validated config file (defaults when there is none) and its warnings."""
    path = path or paths.config_path()
    try:
        text = read_text(path)
    except FileNotFoundError:
        return Config(), []
    return validate(parse(text, path), text, path)


def read_text(path: str) -> str:
    """The file's text (FileNotFoundError passes through); a file that cannot be read or is not UTF-8 is a
    ConfigError, worded as everywhere else (ccledger.config.read.read_text)."""
    try:
        return userconfig.read_text(path)
    except userconfig.FileProblem as exc:
        raise ConfigError(path, [Issue(None, exc.line, exc.what)]) from None


def dump(value: Any, only_set: bool = False) -> Any:
    """Plain data for the declared keys only (unknown keys and unset optionals dropped)."""
    if isinstance(value, BaseModel):
        names = value.model_fields_set if only_set else type(value).model_fields
        order = sorted(type(value).model_fields, key=lambda n: n in ("warn", "action", "servers"))  # amount first
        out = {n: dump(getattr(value, n), only_set) for n in order if n in names}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, dict):
        return {k: dump(v, only_set) for k, v in value.items()}
    return value


def effective(config: Config) -> dict:
    """What ccledger uses: built-in defaults overlaid with the file; projects show only what they override."""
    out = dump(config)
    line = out["statusline"]
    line["thresholds"] = {**statusline_keys.DEFAULT_THRESHOLDS, **line["thresholds"]}
    line["format"] = {**statusline_keys.DEFAULT_FORMATS, **line["format"]}
    for price in out["pricing"].values():
        for key, factor in (("cache_write_5m", 1.25), ("cache_write_1h", 2.0), ("cache_read", 0.1)):
            price.setdefault(key, round(price["input"] * factor, 9))
        price.setdefault("fast_multiplier", 1.0)
    out["projects"] = {p: dump(project, only_set=True) for p, project in config.projects.items()}
    return out


def is_active(budgets: Budgets, name: str) -> bool:
    """A limit counts once it has an amount; window and week (amount `limit`, default 100) once their table exists."""
    limit = getattr(budgets, name)
    if name in ("window", "week"):
        return name in budgets.model_fields_set
    amounts = [getattr(limit, a, None) for a in ("usd", "tokens", "carried_tokens")]
    servers = getattr(limit, "servers", {})
    return any(a is not None for a in amounts) or any(s.usd or s.carried_tokens for s in servers.values())


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def project_for(config: Config, cwd: str) -> Optional[str]:
    """The [projects."<path>"] key for a session's cwd: the longest path prefix wins."""
    cwd = os.path.normpath(cwd)
    hits = [p for p in config.projects if cwd == os.path.normpath(p) or cwd.startswith(os.path.normpath(p) + os.sep)]
    return max(hits, key=len, default=None)


def budgets_for(config: Config, cwd: Optional[str]) -> Budgets:
    """The budgets that apply in `cwd`: the project's keys override the global ones key by key."""
    project = project_for(config, cwd) if cwd else None
    if project is None:
        return config.budgets
    merged = _merge(dump(config.budgets, only_set=True), dump(config.projects[project].budgets, only_set=True))
    return Budgets.model_validate(merged)
