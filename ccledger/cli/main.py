"""`ccledger` argument parsing and dispatch.

Command modules are imported only when their command runs, so `report --json`
never pays for rich. Errors become one line on stderr and a named exit code;
`--debug` shows the traceback instead. Bad arguments exit 2 with the usage of
the command they were given to and the nearest option or command named.

ccusage's spellings work beside ours: `ccledger daily` is `ccledger report
daily`, `ccledger` alone is today's daily report, `-s 20250101`, `-j`, `-o desc`.
Every command's --help has a description, every option explained and examples;
the shell completions (cli/completion.py) are generated from this parser.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import textwrap
from collections.abc import Callable  # not typing: a report's start skips its import

from .. import __version__
from ..base.errors import ERROR, INTERRUPTED, USAGE, CcledgerError

USAGE_REPORTS = ("daily", "weekly", "monthly", "session", "blocks", "models", "projects", "windows")
ATTRIBUTION_REPORTS = ("tools", "mcp", "agents")
SHORT_FORMS = ("daily", "weekly", "monthly", "session", "blocks")  # ccusage's commands: `ccledger daily`
PERIODS = {"daily": "day", "weekly": "week", "monthly": "month"}
CHRONOLOGICAL = ("daily", "weekly", "monthly", "blocks")  # the rest come by cost (report.usage.arrange)
BREAKDOWN = ("daily", "weekly", "monthly", "session", "projects")  # --breakdown: the reports with per-model rows
WIDE = ("daily", "weekly", "monthly", "session", "models", "projects", "tools", "mcp", "agents")  # --compact
WRAP = 100  # help text width
BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell shows for a writer whose reader left (`| head`)

REPORT_LINE = {  # the one line in a list of reports
    "daily": "tokens and cost per day", "weekly": "tokens and cost per week", "monthly": "tokens and cost per month",
    "session": "tokens and cost per session", "blocks": "usage per 5-hour block (an estimate)",
    "models": "tokens and cost per model", "projects": "tokens and cost per project",
    "windows": "the official 5-hour and 7-day windows, forecasts, calibration",
    "tools": "which tool owns the tokens (attribution)", "mcp": "which MCP server or tool owns the tokens",
    "agents": "each subagent's whole spend"}
REPORT_TEXT = {
    "daily": "Tokens and cost per local day.",
    "weekly": "Tokens and cost per ISO week (Monday to Sunday).",
    "monthly": "Tokens and cost per calendar month.",
    "session": "Tokens and cost per Claude Code session, with its project and when it was last active.",
    "blocks": "Usage in 5-hour blocks, the way Claude's usage windows are counted (a local estimate; "
              "`report windows` has the official numbers).",
    "models": "Tokens and cost per model.",
    "projects": "Tokens and cost per project (the folder Claude Code ran in), the costliest first.",
    "windows": "The official 5-hour and 7-day windows Claude Code reports (Pro/Max), when each runs out at the "
               "pace so far, and the calibration behind the status line's local estimates.",
    "tools": "Every token's owner: each tool, the base context, prompts and model output. Marginal tokens are "
             "what a result added to the context; carried tokens are those re-read by every later request "
             "until the next compaction. Carried tokens add up to every input token in scope.",
    "mcp": "Tokens each MCP server (with --by-tool, each MCP tool) added to the context, and what re-reading "
           "them cost.",
    "agents": "Each subagent's whole spend, rolled up to the Agent/Task call that started it.",
}


class Parser(argparse.ArgumentParser):
    """argparse with ccledger's manners: every parser takes --debug and --color/--no-color (after the
    command too), help keeps its layout, and a usage error names the nearest option or command."""

    def __init__(self, *args: object, epilog_fn: Callable[[], str] | None = None, top: bool = False,
                 **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.epilog_fn = epilog_fn
        common = self.add_argument_group("common options")
        # a subcommand's copy leaves the value the top level set unless given again (SUPPRESS)
        default = {} if top else {"default": argparse.SUPPRESS}
        common.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error",
                            **default)
        common.add_argument("--color", dest="color", action="store_const", const=True,
                            help="colours even when the output is not a terminal", **default)
        common.add_argument("--no-color", dest="color", action="store_const", const=False,
                            help="no colours or other escapes (as NO_COLOR=1 does)", **default)
        if top:
            self.set_defaults(color=None)

    def format_help(self) -> str:
        if self.epilog_fn is not None:  # built on demand: `budget set --help` reads the config model
            self.epilog, self.epilog_fn = self.epilog_fn(), None
        return super().format_help()

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices:
            import difflib  # only for a mistake: not on every command's start
            choices = [str(c) for c in action.choices]
            close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise argparse.ArgumentError(action, f"invalid choice: {value!r} (choose from {', '.join(choices)}){hint}")

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n(`{self.prog} --help` explains every option)\n")


def _examples(*lines: str) -> str:
    """An "examples:" section; a comment after two spaces lines up with the others."""
    split = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines]
    column = max((len(parts[0]) for parts in split if len(parts) == 2), default=0) + 2
    return "examples:\n" + "\n".join(f"  {parts[0]:<{column}}{parts[1]}" if len(parts) == 2 else f"  {parts[0]}"
                                      for parts in split)


def _wrap(text: str) -> str:
    """Long description lines wrapped (the raw formatter keeps the examples' layout, so it wraps nothing)."""
    return "\n".join(textwrap.fill(line, WRAP) if len(line) > WRAP else line for line in text.split("\n"))


def _command(sub: argparse._SubParsersAction, name: str, help: str, description: str, examples: list[str],
             **kwargs: object) -> Parser:
    return sub.add_parser(name, help=help, description=_wrap(description), epilog=_examples(*examples), **kwargs)


def _budget_keys(suffix: str = "", limits: bool = False) -> Callable[[], list[str]]:
    """What the shell completes for a budget key (read from the config model when the script is generated)."""
    def words() -> list[str]:
        from . import budget_keys
        found = [k.key for k in budget_keys.keys() if budget_keys.SERVER not in k.key]
        heads = sorted({k.split(".")[0] for k in found if "." in k}) if limits else []
        return heads + [k + suffix for k in found]
    return words


def _report_options(p: argparse.ArgumentParser, kind: str) -> None:
    period = PERIODS.get(kind, "day")
    p.add_argument("-j", "--json", action="store_true",
                   help="print the versioned JSON envelope (schema_version 1) instead of a table")
    when = p.add_mutually_exclusive_group()
    when.add_argument("-s", "--since", metavar="DATE",
                      help="first day included: YYYY-MM-DD, YYYYMMDD, today, yesterday, or 7d / 2w (the last "
                           "7 days / 2 weeks, today included)")
    when.add_argument("--last", metavar="N", type=int,
                      help=f"the last N {period}s, the current one included (--last 1: "
                           f"{'today' if period == 'day' else 'this ' + period})")
    p.add_argument("-u", "--until", metavar="DATE", help="last day included (the same forms as --since)")
    p.add_argument("-z", "--timezone", metavar="TZ",
                   help="IANA time zone for days and times, e.g. Europe/Paris or UTC (default: local)")
    p.add_argument("--project", metavar="NAME",
                   help="only this project: its folder path, Claude Code's folder name, or part of it"
                   ).completions = "dirs"
    p.add_argument("--session", metavar="ID", help="only this session (its id or the start of it)")
    p.add_argument("--no-ingest", action="store_true",
                   help="report what the ledger holds without reading new transcript lines first")
    if kind != "windows":
        p.add_argument("-o", "--order", choices=("asc", "desc"), metavar="ORDER",
                       help="asc: oldest first (the default); desc: newest first" if kind in CHRONOLOGICAL else
                       "desc: the costliest first (the default); asc: the cheapest first")
    if kind in PERIODS:
        p.add_argument("-i", "--instances", action="store_true",
                       help=f"one row per project within each {period} (ccusage's --instances)")
    if kind in WIDE:
        p.add_argument("--compact", action="store_true",
                       help="the narrow table, as on an 80-column terminal (fewer columns)")


REPORT_EXAMPLES = {
    "daily": ["ccledger report daily                 every day (ccledger daily is the same)",
              "ccledger daily -s 20250601 -u 20250630  June 2025 (ccusage's date form)",
              "ccledger daily --last 7 -o desc         the last 7 days, newest first",
              "ccledger daily -i --since 7d            each project's share of each of the last 7 days",
              "ccledger daily --breakdown              one sub-row per model",
              "ccledger daily -j | jq '.totals'        the JSON envelope, for scripts"],
    "session": ["ccledger report session --last 3  sessions active in the last 3 days, the costliest first",
                "ccledger session -o asc --project ~/src/app  that project's sessions, the cheapest first"],
    "blocks": ["ccledger report blocks --since today", "ccledger blocks -j"],
    "windows": ["ccledger report windows", "ccledger report windows --json"],
    "tools": ["ccledger report tools                 this ledger's whole history",
              "ccledger report tools --session 7863dacb --project ~/src/myrepo",
              "ccledger report tools --since 7d --json"],
    "mcp": ["ccledger report mcp --by-tool --since 7d", "ccledger report mcp --json"],
    "agents": ["ccledger report agents --since today", "ccledger report agents --session 7863dacb"],
}


def _report(sub: argparse._SubParsersAction, kind: str, short: bool = False) -> None:
    """`report KIND`, or ccusage's `KIND` alone (`short`): the same options, the same code."""
    examples = REPORT_EXAMPLES.get(kind) or [f"ccledger report {kind}", f"ccledger report {kind} --since 7d --json",
                                             f"ccledger report {kind} --project ~/src/myrepo --breakdown"]
    help = f"{REPORT_LINE[kind]} (short for `report {kind}`)" if short else REPORT_LINE[kind]
    description = REPORT_TEXT[kind] + ("" if kind == "windows" else
                                       "\nEach report first reads whatever Claude Code wrote since the last one.")
    p = _command(sub, kind, help, description, examples)
    _report_options(p, kind)
    if kind in BREAKDOWN:
        p.add_argument("-b", "--breakdown", action="store_true", help="one sub-row per model under each row")
    if kind == "mcp":
        p.add_argument("--by-tool", action="store_true", help="one row per MCP tool, not per server")
    p.set_defaults(module="report_cmd" if kind in USAGE_REPORTS else "attribution_cmd", kind=kind, breakdown=False)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ccledger", top=True,
        description="A local ledger of every token Claude Code spends: reports, budgets, the status line.\n\n"
                    "With no command, ccledger shows today's daily report; options without a command go to\n"
                    "it (`ccledger -j` is today's report as JSON). ccusage's commands work as short forms:\n"
                    "`ccledger daily|weekly|monthly|session|blocks` is `ccledger report ...`.",
        epilog=_examples("ccledger                              today's usage",
                         "ccledger daily --since 7d              the last 7 days",
                         "ccledger report tools                  which tools and MCP servers used the tokens",
                         "ccledger budget set daily.usd=20 daily.action=block",
                         "ccledger doctor                        is everything set up and healthy?",
                         "ccledger COMMAND --help                what a command does, with examples")
        + "\n\nexit codes:\n  0 ok, 1 error, 2 bad arguments, 3 a budget exceeded (budget check), 4 ledger locked,\n"
          "  5 read-only, 6 disk full, 7 ledger damaged, 8 ledger too new, 9 ledger unavailable,\n"
          "  10 no Claude Code data folder found, 130 interrupted, 141 the reader of the output left (| head)\n\n"
          "environment:\n  CLAUDE_CONFIG_DIR  where Claude Code keeps its data (comma-separated list allowed)\n"
          "  CCLEDGER_HOME      one folder for all of ccledger's state\n"
          "  NO_COLOR           no colours (as --no-color)")
    parser.add_argument("-v", "--version", action="version", version=f"ccledger {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                help="what to do (none: today's daily report); `ccledger COMMAND --help` explains it")

    p = _command(sub, "ingest", "read new transcript lines into the ledger",
                 "Read what Claude Code wrote since the last run (only the new bytes of each transcript) into "
                 "the ledger,\nand say what was read and what was skipped. Reports do this by themselves; this "
                 "is for scripts and\nfor seeing progress.",
                 ["ccledger ingest", "ccledger ingest --json", "ccledger ingest -q && ccledger report daily --no-ingest"])
    p.add_argument("-j", "--json", action="store_true", help="print what was read as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(module="ingest_cmd")

    p = _command(sub, "report", "usage reports (tables or --json)",
                 "Usage reports over the ledger: tokens and cost per day, week, month, session, 5-hour block,\n"
                 "model or project; the official windows; and attribution (which tool, MCP server or subagent\n"
                 "consumed the tokens). `ccledger report KIND --help` explains each.",
                 ["ccledger report daily", "ccledger report tools --since 7d", "ccledger report session --json"])
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True,
                             help="which report; `ccledger report KIND --help` explains it")
    for kind in USAGE_REPORTS + ATTRIBUTION_REPORTS:
        _report(kinds, kind)
    for kind in SHORT_FORMS:
        _report(sub, kind, short=True)

    p = _command(sub, "doctor", "paths, ledger health, skipped lines",
                 "Check the set-up and the ledger: paths, the ledger's size and rows, skipped transcript lines\n"
                 "by reason and file, whether the hooks and status line are registered and run, and each\n"
                 "problem found with its fix. It runs whatever state the ledger is in.",
                 ["ccledger doctor", "ccledger doctor --json", "ccledger doctor --fix"])
    p.add_argument("-j", "--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--fix", action="store_true", help="rewrite settings entries that name a file an upgrade moved")
    p.set_defaults(module="doctor_cmd")

    p = _command(sub, "statusline", "render the status line from Claude Code's JSON on stdin",
                 "The status line itself: Claude Code runs this with its status JSON on stdin and shows the\n"
                 "line printed. --preview renders bundled payloads of real Claude Code versions against your\n"
                 "own ledger, recording nothing. [statusline] in config.toml picks the segments.",
                 ["ccledger statusline --preview", "echo '{\"session_id\": \"x\"}' | ccledger statusline"])
    p.add_argument("--preview", action="store_true", help="render the bundled sample payloads")
    p.set_defaults(module="statusline_cmd")

    p = _command(sub, "config", "the config file: where it is, its effective values, whether it is valid",
                 "The config file (config.toml): its path, the effective values (built-in defaults and the\n"
                 "file), and a strict check that names each problem with its key and line.",
                 ["ccledger config path", "ccledger config show", "ccledger config check --json"])
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True,
                               help="what to do; `--help` after it explains it")
    for action, text, description in (
            ("path", "print the config file's path", "Print the path of config.toml (it may not exist yet)."),
            ("show", "the effective config (defaults + file) as TOML",
             "Print the effective config: the built-in defaults overlaid with the file, as TOML."),
            ("check", "validate the file: exit 1 with one line per problem",
             "Validate config.toml: \"ok\" and exit 0, or one line per problem (key, line, what is wrong)\n"
             "and exit 1. Unknown keys are warnings.")):
        a = _command(actions, action, text, description, [f"ccledger config {action}",
                                                          f"ccledger config {action} --json"])
        a.add_argument("-j", "--json", action="store_true", help="print the answer as JSON")
        a.set_defaults(module="config_cmd")

    _budget(sub)

    p = _command(sub, "rebuild", "re-derive the ledger from the transcripts (after a parser upgrade)",
                 "Read every transcript again from the start and re-derive the ledger's rows from them, after\n"
                 "an upgrade that reads transcripts better. Rows of transcripts Claude Code has since deleted\n"
                 "are kept, as are hook events, status line readings and budget alerts. It asks first.",
                 ["ccledger rebuild", "ccledger rebuild --yes          no question (scripts, no terminal)"])
    p.add_argument("-y", "--yes", action="store_true", help="do not ask first (needed when stdin is not a terminal)")
    p.set_defaults(module="rebuild_cmd")

    p = _command(sub, "completion", "print the shell completion script for bash, zsh or fish",
                 "Print the completion script for a shell (generated from this command line, so it always\n"
                 "matches it), or --install all three where each shell looks for them.",
                 ["ccledger completion bash > ~/.local/share/bash-completion/completions/ccledger",
                  "ccledger completion fish > ~/.config/fish/completions/ccledger.fish",
                  "ccledger completion zsh > ~/.local/share/zsh/site-functions/_ccledger",
                  "ccledger completion --install   all three, to the folders above",
                  "ccledger completion --uninstall  removes them"])
    p.add_argument("shell", nargs="?", choices=("bash", "zsh", "fish"), help="the shell to print the script for")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--install", action="store_true", help="write the scripts for all three shells (says where)")
    where.add_argument("--uninstall", action="store_true", help="remove the scripts --install wrote")
    p.set_defaults(module="completion")

    from ..install import cli as install_cli  # argparse only: the installer loads when setup runs
    p = _command(sub, "setup", "register the hooks and status line (after pipx or uv tool install)",
                 install_cli.SETUP_DESCRIPTION,
                 ["pipx install ./ccledger && ccledger setup     from a clone (or pipx install git+URL)",
                  "uv tool install ./ccledger && ccledger setup --dry-run   the change; nothing written",
                  "ccledger setup --uninstall       takes the entries out, gives your status line back"])
    install_cli.add_options(p, managed=True)
    p.set_defaults(module="setup_cmd")
    return parser


def _budget(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "budget", "limits and warnings: set, show, override",
                 "Budgets: limits on the 5-hour and 7-day windows, cost per day, week or month, tokens per\n"
                 "session or per tool result, MCP servers' tokens. Each warns at thresholds and can ask, deny\n"
                 "or block at 100%. They live in config.toml; set and unset edit it and keep your comments.",
                 ["ccledger budget set session.tokens=2M session.action=deny", "ccledger budget status",
                  "ccledger budget override --for 1h"])
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True,
                               help="what to do; `--help` after it explains it")
    set_examples = ["ccledger budget set session.tokens=2M session.action=deny",
                    "ccledger budget set daily.usd=\\$20 daily.warn=50,80,95 daily.action=block",
                    "ccledger budget set mcp.carried_tokens=500k 'mcp.servers.\"github\".usd=2'",
                    "ccledger budget set --project ~/src/app session.tokens=500k"]

    def set_epilog() -> str:
        from . import budget_keys
        return (_examples(*set_examples) + "\n\nvalues: integers and numbers take units (2M, 500k, 1.5B) and "
                "dollars a $ ($5, $0.50);\nlists are comma-separated (50,80,95); true/false.\n\n"
                + budget_keys.help_text())

    a = actions.add_parser("set", help="set limits, e.g. session.tokens=2M session.action=deny",
                           description="Set budget keys in config.toml (the rest of the file is kept as it is). "
                                       "Nothing is\nwritten when a value is invalid; each key set says what it "
                                       "was. A changed limit applies\nfrom the next hook.",
                           epilog_fn=set_epilog)
    assignments = a.add_argument("assignments", nargs="+", metavar="KEY=VALUE",
                                 help="a dotted key under [budgets] and its value (the keys are listed below)")
    assignments.completions = _budget_keys("=")  # type: ignore[attr-defined]  # read by cli/completion.py
    a.add_argument("--project", metavar="PATH",
                   help="set the override for this project folder instead").completions = "dirs"

    a = _command(actions, "unset", "remove keys or whole limits, e.g. session.action or session",
                 "Remove keys (the default applies again) or whole limits from config.toml.",
                 ["ccledger budget unset session.action", "ccledger budget unset session daily",
                  "ccledger budget unset --project ~/src/app session"])
    keys = a.add_argument("keys", nargs="+", metavar="KEY", help="a dotted key or limit under [budgets]")
    keys.completions = _budget_keys(limits=True)  # type: ignore[attr-defined]
    a.add_argument("--project", metavar="PATH",
                   help="unset in this project folder's override instead").completions = "dirs"

    a = _command(actions, "show", "the configured limits as a table",
                 "The configured limits, each with its amount, warnings, action and whether it is armed;\n"
                 "then each project's overrides and the override in force, if any.",
                 ["ccledger budget show", "ccledger budget show --json"])
    a.add_argument("-j", "--json", action="store_true", help="print the limits as JSON")

    a = _command(actions, "override", "lift ask/deny/block for a while (--for 1h) or end that (--clear)",
                 "Lift every ask, deny and block for a while (warnings still show); with neither option, say\n"
                 "whether an override is in force.",
                 ["ccledger budget override --for 1h", "ccledger budget override --for 2h30m --reason 'release'",
                  "ccledger budget override --clear"])
    which = a.add_mutually_exclusive_group()
    which.add_argument("--for", dest="duration", metavar="DURATION", help="how long: e.g. 30m, 1h, 2h30m, 1d")
    which.add_argument("--clear", action="store_true", help="end the override now")
    a.add_argument("--reason", metavar="TEXT", help="recorded with the override")

    for action, text, description in (
            ("status", "each limit now, its forecast, which actions are armed",
             "Each configured limit measured now, its forecast at the current pace, and which actions are\n"
             "armed (would ask, deny or block now)."),
            ("check", "exit 3 when a limit is crossed (for scripts)",
             "Exit 3 when any limit is at or past 100% (for scripts and CI), else 0.")):
        a = _command(actions, action, text, description, [f"ccledger budget {action}",
                                                          f"ccledger budget {action} --session 7863dacb --json"])
        a.add_argument("-j", "--json", action="store_true", help="print the answer as JSON")
        a.add_argument("--session", metavar="ID", help="for session limits (default: the latest session)")
        a.add_argument("--cwd", metavar="PATH",
                       help="whose project overrides apply (default: here)").completions = "dirs"
    p.set_defaults(module="budget_cmd")


VALUE_OPTIONS = ("--project", "--session")
TOP_LEVEL = ("--debug", "--color", "--no-color")  # options that do not by themselves name a command


def _join_dash_values(argv: list[str]) -> list[str]:
    """`--project -home-me-repo`: Claude Code's project folders start with '-', which argparse would
    take for an option (ccusage has this bug); bind such a value to its option."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in VALUE_OPTIONS:
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def _with_default_command(argv: list[str]) -> tuple[list[str], bool]:
    """ccusage alone is its daily report: `ccledger` alone is today's, and options with no command before them
    (`ccledger -j -s 20250101`) are the daily report's. True when the command was supplied here."""
    for i, arg in enumerate(argv):
        if arg in TOP_LEVEL:
            continue
        if arg in ("-h", "--help", "-v", "--version") or not arg.startswith("-"):
            return argv, False
        return argv[:i] + ["daily"] + argv[i:], True
    return argv + ["daily"], True


def _leaf(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The deepest parser the arguments reached: its usage is the one an error shows."""
    node = parser
    while True:
        sub = next((a for a in node._actions if isinstance(a, argparse._SubParsersAction)), None)
        name = getattr(args, sub.dest, None) if sub is not None else None
        if sub is None or name not in sub.choices:
            return node
        node = sub.choices[name]


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """argparse's message, with the nearest option of that command when one is close."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    import difflib  # only for a mistake: not on every command's start
    options = [o for action in parser._actions for o in action.option_strings]
    for word in extras:
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=")[0], options, n=1, cutoff=0.6)
            if close:
                return f"{message} (did you mean {close[0]}?)"
    return message


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The namespace for `argv`; bad arguments exit 2 with the usage of the command they were given to."""
    argv, implicit = _with_default_command(argv)
    args, extras = parser.parse_known_args(_join_dash_values(argv))
    if extras:
        _leaf(parser, args).error(_unrecognized(_leaf(parser, args), extras))
    if implicit and args.since is None and args.until is None and args.last is None:
        args.since = "today"
    return args


def _quiet_broken_pipe() -> int:
    """`ccledger report daily | head`: the reader left. As Python's documentation advises, point stdout at
    /dev/null (so the final flush at exit does not fail again) and leave quietly, with the code a process
    killed by SIGPIPE would have."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file descriptor (in-process tests)
        pass
    return BROKEN_PIPE


def _colors(choice: bool | None) -> dict[str, str | None]:
    """--color / --no-color as the environment every renderer reads (NO_COLOR, FORCE_COLOR); returns what to
    put back, so the choice lasts only as long as the command."""
    saved = {name: os.environ.get(name) for name in ("NO_COLOR", "FORCE_COLOR")}
    if choice is not None:
        os.environ.pop("FORCE_COLOR" if choice is False else "NO_COLOR", None)
        os.environ["NO_COLOR" if choice is False else "FORCE_COLOR"] = "1"
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(build_parser(), sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # `ccledger --help | head -1`
        return _quiet_broken_pipe()
    saved = _colors(args.color)
    try:
        module = importlib.import_module(f"ccledger.cli.{args.module}")
        code = int(module.run(args) or 0)
        sys.stdout.flush()  # a reader that left shows here, not in the interpreter's final flush
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except SystemExit as exc:  # rich meets a broken pipe the same way, but exits 1: one code for one cause
        if isinstance(exc.__context__, BrokenPipeError):
            return _quiet_broken_pipe()
        raise
    except CcledgerError as exc:
        print(f"ccledger: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        from ..base import errlog
        from ..ledger import faults
        named = faults.named(exc)  # a fault from outside (permissions, space, damage, a lock): not a bug
        if named is not None:
            errlog.record("cli", str(named), False)
            print(f"ccledger: {named}", file=sys.stderr)
            return named.code
        where = errlog.record("cli", exc)
        what = str(exc) or type(exc).__name__  # `EOFError()` has no message: name it rather than print nothing
        print(f"ccledger: unexpected error: {what} (details in {where}; --debug shows the traceback)",
              file=sys.stderr)
        return ERROR
    finally:
        _restore(saved)
        context = sys.modules.get("ccledger.cli.context")  # loaded by the commands that open the ledger
        if context is not None:
            context.close_opened()


if __name__ == "__main__":
    sys.exit(main())
