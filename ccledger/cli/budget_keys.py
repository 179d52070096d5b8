"""Every key `ccledger budget set` accepts, read from the config model, for its --help and for completion.

Generated, not written by hand, so a limit or field added to the schema
(ccledger.config.model.Budgets) shows up in `budget set --help` and in the
shell's completions without anyone remembering to list it.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass

SERVER = '"NAME"'  # how a per-server key is shown (mcp.servers."github".usd)
MEANING = {  # what a field means ({unit}: the limit's, from budget_cmd.LIMITS); a field missing here is listed bare
    "notify_model": "also send warnings to Claude (else only you see them)",
    "limit": "percent {unit} that is the limit",
    "usd": "dollars {unit}: 20, 0.5, $5",
    "tokens": "tokens {unit}: 2000000, 2M, 500k",
    "carried_tokens": "carried tokens {unit}: 2M, 500k",
    "warn": "warn at these percents of the amount",
    "action": "at 100%: ask or deny the next tool call, or block the next prompt",
}
LAST = ("warn", "action")  # shown after the amount they qualify


@dataclass(frozen=True)
class Key:
    key: str  # dotted, relative to [budgets]
    kind: str  # what the value is: "integer", "number", "true|false", "none|ask|deny|block", "numbers" (a list)
    default: str  # "" when there is none
    meaning: str


def _plain(annotation: object) -> object:
    """Optional[Annotated[int, ...]] -> int."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Union and len(args) == 1:
        return _plain(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _plain(args[0])
    return annotation


def _kind(annotation: object) -> str:
    plain = _plain(annotation)
    origin = typing.get_origin(plain)
    if origin is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(plain))
    if origin is list:
        return f"{_kind(typing.get_args(plain)[0])}s"
    return {bool: "true|false", int: "integer", float: "number", str: "text"}.get(plain, str(plain))


def _default(field: typing.Any) -> str:
    from pydantic_core import PydanticUndefined
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def keys() -> list[Key]:
    """Every settable key under [budgets], amounts before warn and action; per-server MCP keys under
    mcp.servers."NAME"."""
    from pydantic import BaseModel

    from ..config import model as config_model
    from .budget_cmd import LIMITS
    units = dict(LIMITS)
    found: list[Key] = []

    def walk(model: type, prefix: tuple[str, ...]) -> None:
        def rank(name: str) -> int:  # the amount, then warn and action, then nested tables
            plain = _plain(model.model_fields[name].annotation)
            nested = typing.get_origin(plain) is dict or (isinstance(plain, type) and issubclass(plain, BaseModel))
            return 2 if nested else int(name in LAST)

        for name in sorted(model.model_fields, key=rank):
            field = model.model_fields[name]
            plain = _plain(field.annotation)
            if isinstance(plain, type) and issubclass(plain, BaseModel):
                walk(plain, prefix + (name,))
            elif typing.get_origin(plain) is dict:
                value = typing.get_args(plain)[1]
                if isinstance(value, type) and issubclass(value, BaseModel):
                    walk(value, prefix + (name, SERVER))
            else:
                unit = units.get(prefix[0], "") if prefix else ""
                meaning = MEANING.get(name, "").replace(" {unit}", f" {unit}" if unit else "")
                found.append(Key(".".join(prefix + (name,)), _kind(field.annotation), _default(field), meaning))
    walk(config_model.Budgets, ())
    return found


def help_text() -> str:
    """The key table at the end of `budget set --help`."""
    found = keys()
    width, kind_width = (max(len(k.key) for k in found) + 2, max(len(k.kind) for k in found) + 2)
    lines = ["keys (under [budgets], or the project's own with --project; read from the config schema):"]
    for k in found:
        default = f" (default {k.default})" if k.default else ""
        lines.append(f"  {k.key:<{width}}{k.kind:<{kind_width}}{k.meaning}{default}".rstrip())
    return "\n".join(lines)
