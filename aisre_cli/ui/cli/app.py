"""The `aisre` command: the root Typer app, shared options and the one error renderer.

Each command group lives in its own module (`alerts.py`, `triage.py`, ...) and is
registered below. Modules are imported eagerly but keep their own heavy imports
(the engine, httpx, textual) inside the command functions, so `aisre --help` only
pays for Typer and rich.

Shared options (`--profile`, `--bundle`, `-v`) live on the root callback and travel
in `State` (the Typer context object); commands read them with `state(ctx)`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

# Third-party pydantic plugins (observability hooks other packages install) are not
# loaded: they would see, and could change, the validation of untrusted input and of
# secrets, and finding them scans every installed package's metadata on each command
# (~25 ms of a 0.5 s triage). Set before typer, which builds pydantic adapters.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402
from typer.core import TyperGroup

from aisre_cli import __version__
from aisre_cli.errors import AisreError, ExitCode

HELP = """aisre: an on-call copilot for the terminal.

Pull the alert, metrics, logs, changes and topology; get ranked root-cause hypotheses
that cite their evidence; run the matching runbook one keystroke at a time.

Examples:

  aisre alerts     # what is firing (with no config yet: the demo incident)

  aisre triage CheckoutHighErrorRate

  aisre triage --bundle ./incident-42 --json
"""

# Every command: its module under aisre_cli.ui.cli and its one-line help. The group
# below imports a command's module only when that command runs (or its own --help
# is asked for), so `aisre triage …` does not pay for the console, the runbook
# engine or the live connectors, and `aisre --help` imports none of them.
# tests/test_cli_lazy.py keeps this table equal to the real commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "alerts": (
        "alerts",
        "List firing alerts, deduplicated across sources and grouped into incidents.",
    ),
    "triage": (
        "triage",
        "Investigate one alert and rank its likely root causes, each citing evidence.",
    ),
    "console": (
        "console",
        "The full-screen incident console: inbox, incident, runbook stepper, audit.",
    ),
    "runbook": ("runbook", "Runbooks: list, show, validate, run one step at a time, resume."),
    "audit": ("audit", "The tamper-evident audit log: show, verify."),
    "escalate": (
        "escalate",
        "Build a hand-off (alert, verdict, hypotheses with evidence, actions taken) and escalate.",
    ),
    "incident": (
        "incident",
        "Incident memory: past incidents, confirmed causes, postmortems, team sharing.",
    ),
    "memory": (
        "memory",
        "The memory's storage: status, sync the local spool, migrate to a team store.",
    ),
    "doctor": (
        "doctor",
        "Check every configured source: reachable, authenticated, version, latency, fixes.",
    ),
    "config": ("config_cmd", "Create and inspect the configuration (profiles and sources)."),
    "auth": (
        "auth",
        "Store, check and delete API tokens (OS keyring; AISRE_<NAME>_TOKEN in CI).",
    ),
    "change": ("change", "Record change events (deploys, config, flags) for triage to correlate."),
    "bundle": ("bundle", "Capture live incidents as bundles and validate bundles."),
    "eval": (
        "evaluate",
        "Run triage on every bundle with a truth.yaml and report how well it ranks.",
    ),
}


class Interrupt(Exception):  # noqa: N818 - it is not an error
    """Ctrl-C or SIGTERM inside a command, on its way to `main` (exit 130)."""

    def __init__(self, cause: KeyboardInterrupt) -> None:
        super().__init__(str(cause))
        self.cause = cause


class LazyGroup(TyperGroup):
    """A Typer group that loads command modules on first use (see COMMANDS)."""

    # Typer may vendor click, so its types are not named here (Any below).
    def invoke(self, ctx: Any) -> Any:
        # Typer turns a KeyboardInterrupt into a silent exit 130; carry it out to
        # `main` instead, which says what was interrupted.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupt(exc) from exc

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS) + [n for n in super().list_commands(ctx) if n not in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            _load(COMMANDS[cmd_name][0])
            built = typer.main.get_command(app)
            for name, cmd in getattr(built, "commands", {}).items():
                self.commands.setdefault(name, cmd)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, short) for name, (_, short) in COMMANDS.items()]
        rows += [
            (name, cmd.get_short_help_str(limit=80))
            for name, cmd in self.commands.items()
            if name not in COMMANDS and not cmd.hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=LazyGroup,
    name="aisre",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# Only the root option reads AISRE_PROFILE: a subcommand's -p must not pick the variable
# up again and override `aisre -p NAME <command>` (precedence: the subcommand's -p, the
# root's -p, AISRE_PROFILE, the default profile).
RootProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", envvar="AISRE_PROFILE", help="Config profile to use."),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", help="Config profile to use (overrides `aisre -p` and AISRE_PROFILE)."
    ),
]
BundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--bundle",
        "-b",
        help="Read an incident bundle directory instead of live sources.",
    ),
]


def _verbose(value: int) -> int:
    """`-vv` anywhere (`aisre -vv triage` or `aisre triage -vv`) turns on the debug log:
    every query with its latency and result size, every HTTP request (redacted)."""
    if value >= 2:
        from aisre_cli.settings.secrets import enable_debug_logging

        enable_debug_logging()  # redacted: tokens never reach the log
    return value


VerboseOpt = Annotated[
    int,
    typer.Option(
        "--verbose",
        "-v",
        count=True,
        callback=_verbose,
        help="More detail (-vv: debug, with every query, its latency and result size).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable schema).")]


@dataclass
class State:
    profile: str | None = None
    bundle: Path | None = None
    verbose: int = 0


def state(ctx: typer.Context, profile: str | None = None, bundle: Path | None = None) -> State:
    """The run's shared options; a command's own --profile/--bundle override the root's."""
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    if profile is not None:
        obj.profile = profile
    if bundle is not None:
        obj.bundle = bundle
    return obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aisre {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: RootProfileOpt = None,
    bundle: BundleOpt = None,
    verbose: VerboseOpt = 0,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = State(profile=profile, bundle=bundle, verbose=verbose)


def render_error(err: AisreError) -> None:
    """The one place an error is shown: a red line on stderr, then the hint. Messages
    may quote outside text (a label, a file's content, an argument): controls in them
    are made visible, and the message stays one line."""
    from aisre_cli.ui.term import console, markup

    con = console(stderr=True, soft_wrap=True)
    con.print(f"[bold red]error:[/] {markup(err.message, oneline=True)}")
    if err.hint:
        con.print(f"[dim]hint: {markup(err.hint, oneline=True)}[/]")


def _load(module: str) -> None:
    __import__(f"aisre_cli.ui.cli.{module}")


def _register() -> None:
    """Import every command module (for tools that walk the whole tree: gen_docs)."""
    for module, _ in COMMANDS.values():
        _load(module)


def _output_gone() -> bool:
    """Whether stdout's (or stderr's) reader has closed its end of the pipe."""
    import select

    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            if any(ev & select.POLLERR for _, ev in poller.poll(0)):
                return True
        except (OSError, ValueError, AttributeError):  # no real fd (a test's capture)
            continue
    return False


def _quiet_broken_pipe() -> None:
    """stdout's reader is gone (`| head`): exit quietly, as `head` expects.

    Python's recipe (docs: "Note on SIGPIPE"): point stdout at /dev/null so the flush
    at interpreter exit cannot raise again, say nothing, and exit 141 like a tool that
    SIGPIPE killed. Anything still buffered for the closed pipe is dropped.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
    sys.exit(int(ExitCode.BROKEN_PIPE))


def _sigterm(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does (one line, exit 130), not by signal."""
    raise KeyboardInterrupt("SIGTERM")


def _interrupted(exc: BaseException) -> NoReturn:
    """Say in one line what was interrupted, then exit 130 without waiting for threads
    still blocked on a source (a hung request would otherwise hold the exit for the
    rest of its budget)."""
    import threading

    cause: BaseException | None = exc
    detail = ""
    while cause is not None and not detail:
        detail = getattr(cause, "detail", "")
        cause = cause.__cause__ or cause.__context__
    sys.stderr.write(f"interrupted: {detail}\n" if detail else "interrupted\n")
    # a thread the exit would wait for, or a gather worker (daemon, but a source's own
    # pool inside it is joined at exit) still inside a source
    busy = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread()
        and t.is_alive()
        and (not t.daemon or t.name.startswith("gather-"))
    ]
    if busy:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(int(ExitCode.INTERRUPTED))
    sys.exit(int(ExitCode.INTERRUPTED))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the app and maps errors to exit codes."""
    raise_errors = os.environ.get("AISRE_RAISE_ERRORS") == "1"
    import signal
    import threading

    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, _sigterm)
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except AisreError as err:
        if raise_errors:
            raise
        render_error(err)
        sys.exit(int(err.exit_code))
    except BrokenPipeError as exc:
        if _output_gone():
            _quiet_broken_pipe()
        if raise_errors:
            raise
        _internal_error(exc)  # some other pipe: a real failure, not a reader gone
    except (KeyboardInterrupt, Interrupt) as exc:
        if raise_errors:
            raise
        _interrupted(exc.cause if isinstance(exc, Interrupt) else exc)
    except SystemExit:
        raise
    except OSError as exc:
        if raise_errors:
            raise
        if exc.errno in _FILE_ERRNOS:
            _file_error(exc)
        _internal_error(exc)
    except Exception as exc:  # click's own usage errors and anything unexpected
        # Typer may vendor click, so match click's exception types by shape, not class.
        kind = type(exc).__name__
        if kind == "Exit":
            sys.exit(int(getattr(exc, "exit_code", 0)))
        if kind == "Abort":
            if isinstance(exc.__cause__, KeyboardInterrupt):
                _interrupted(exc)
            sys.stderr.write("aborted\n")
            sys.exit(int(ExitCode.INTERRUPTED))
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            sys.exit(int(ExitCode.USAGE))
        if raise_errors:
            raise
        _internal_error(exc)
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


_FILE_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EEXIST,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
    }
)
"""A file or the output could not be read or written: the machine's state (a missing
folder, a full disk, no permission), not a bug in aisre."""


def _file_error(exc: OSError) -> NoReturn:
    what = f"cannot use {exc.filename}" if exc.filename else "cannot write the output"
    render_error(
        AisreError(
            f"{what}: {exc.strerror or exc}",
            hint="check that the folder exists, is writable and has free space",
        )
    )
    sys.exit(int(ExitCode.USAGE))


def _internal_error(exc: BaseException) -> None:
    render_error(
        AisreError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="re-run with AISRE_RAISE_ERRORS=1 for the traceback and report it",
        )
    )
    sys.exit(int(ExitCode.FAILURE))
