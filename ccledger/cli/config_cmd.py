"""`ccledger config path|show|check`: where the config file is, what ccledger makes of it, and whether it is valid.

`check` is the strict reader the hot path is not: the hooks and the status line
treat a broken file as "no budgets" and keep going, so this is where the user
learns which key on which line is wrong.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from ..base import paths
from ..config import model as config_model
from ..config.edit import dotted, render_value


def _envelope(report: str, **fields: object) -> str:
    return json.dumps({"schema_version": 1, "report": report, **fields}, indent=2, ensure_ascii=False)


def to_toml(doc: dict, table: tuple[str, ...] = ()) -> str:
    """TOML with short lists on one line (tomli-w puts every item on its own line); empty tables left out."""
    values = [f"{dotted([k])} = {render_value(v)}\n" for k, v in doc.items() if not isinstance(v, dict)]
    text = (f"\n[{dotted(table)}]\n" if table and values else "") + "".join(values)
    return text + "".join(to_toml(v, table + (k,)) for k, v in doc.items() if isinstance(v, dict))


def path_(args: argparse.Namespace) -> int:
    path = paths.config_path()
    if args.json:
        print(_envelope("config path", path=path, exists=os.path.exists(path)))
    else:
        print(path)
    return 0


def show(args: argparse.Namespace) -> int:
    """The effective values: built-in defaults overlaid with the file (unknown keys left out)."""
    path = paths.config_path()
    cfg, warnings = config_model.load(path)
    merged = config_model.effective(cfg)
    if args.json:
        print(_envelope("config", path=path, exists=os.path.exists(path), config=merged,
                        warnings=[dataclasses.asdict(w) for w in warnings]))
        return 0
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    source = path if os.path.exists(path) else f"{path}, which does not exist yet"
    print(f"# effective config: built-in defaults + {source}")
    print(to_toml(merged), end="")
    return 0


def check(args: argparse.Namespace) -> int:
    """Exit 0 with "ok" (unknown keys are warnings), or 1 with one line per problem: key, line, what is wrong."""
    path = paths.config_path()
    errors: list[config_model.Issue] = []
    warnings: list[config_model.Issue] = []
    if os.path.exists(path):
        try:
            _, warnings = config_model.load(path)
        except config_model.ConfigError as exc:
            errors = exc.issues
    if args.json:
        print(_envelope("config check", path=path, exists=os.path.exists(path), ok=not errors,
                        errors=[dataclasses.asdict(e) for e in errors],
                        warnings=[dataclasses.asdict(w) for w in warnings]))
        return 1 if errors else 0
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in errors:
        print(f"error: {path}: {error}", file=sys.stderr)
    if errors:
        return 1
    print(f"ok: {path}" if os.path.exists(path) else f"ok: no config file at {path}; the defaults apply")
    return 0


COMMANDS = {"path": path_, "show": show, "check": check}


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.action](args)
