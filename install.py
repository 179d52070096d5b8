#!/usr/bin/env python3
"""One-command set-up of ccledger for Claude Code, from a checkout.

    python3 install.py              # environment + hooks + status line + history, then today's report
    python3 install.py --dry-run    # show the change to settings.json, write nothing
    python3 install.py --uninstall  # remove ccledger's entries, give back your own status line
    python3 install.py --doctor     # `ccledger doctor`, also when its environment is gone

Standard library only: it runs before anything is installed. The logic lives in
ccledger/install/ (shared with `ccledger doctor`); `--help` lists every option.
"""
import os
import sys

if sys.version_info < (3, 10):
    sys.exit("install.py: ccledger needs Python 3.10 or newer; this is %d.%d (%s)"
             % (sys.version_info[0], sys.version_info[1], sys.executable))

CHECKOUT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, CHECKOUT)

from ccledger.install.cli import main  # noqa: E402  (needs the checkout on sys.path)


def doctor() -> int:
    """`ccledger doctor` from this checkout with this python3: it still runs when the `ccledger` command is
    gone with its environment (deleted or moved; the hooks then do nothing and the status line says what to
    run). The doctor needs only the standard library; should the full one not run here, the set-up checks do.
    First it says whether the environment is there, and how to make it again."""
    import argparse

    from ccledger.base import paths
    from ccledger.install import environment, settings, verify

    venv = paths.venv_dir()
    env = environment.existing(venv)
    if env is not None:
        found = verify.Check("environment", True, f"{venv} (ccledger {environment.package_version(env.site_packages)})")
    else:
        try:
            plugin = settings.enabled_plugin(settings.load(settings.user_settings_path()).data)
        except Exception:  # noqa: BLE001 - an unreadable settings file is the settings check's to report
            plugin = None
        fix = (f"start a Claude Code session: the {plugin} plugin sets it up again in the background "
               f"(or run `python3 {os.path.join(CHECKOUT, 'install.py')} --env-only`)" if plugin else
               f"run `python3 {os.path.join(CHECKOUT, 'install.py')}`: it makes the environment again and keeps "
               "your settings, ledger and config")
        found = verify.Check("environment", False, f"{venv} is missing or does not run: the hooks do nothing, "
                             "the status line says so, and the `ccledger` command is gone with it", fix)
    _print([found])
    try:
        from ccledger.cli import doctor_cmd
        return doctor_cmd.run(argparse.Namespace(json=False, fix=False)) or int(not found.ok)
    except ImportError as exc:  # a check needs a package only the environment has: the set-up checks alone
        print(f"(the full doctor needs {exc.name}, which only the environment has: the set-up checks follow)")
    checks = verify.setup_checks()
    _print(checks)
    return int(not found.ok or not all(c.ok for c in checks))


def _print(checks: list) -> None:
    for c in checks:
        print(f"{'ok' if c.ok else 'PROBLEM':<11} {c.name}: {c.detail}")
        if not c.ok and c.fix:
            print(f"{'':<11} fix: {c.fix}")


if __name__ == "__main__":
    if "--doctor" in sys.argv[1:] and not {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(doctor())
    sys.exit(main(checkout=CHECKOUT))
