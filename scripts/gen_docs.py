"""Generate the man page and the static shell completions from the Typer app.

    python scripts/gen_docs.py            # (re)write man/aisre.1 and completions/*
    python scripts/gen_docs.py --check    # exit 1, listing the files that are out of date

Everything is derived from the click command tree (`typer.main.get_command(app)` after
`_register()`), the `ExitCode` docstrings in `aisre_cli/errors.py` and the examples in
the command docstrings. The completions are fully static: completing never starts
Python. Output is deterministic: commands and options are sorted, there is no date, and
the only version is `aisre_cli.__version__`.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAN_PAGE = "man/aisre.1"
BASH = "completions/aisre.bash"
ZSH = "completions/aisre.zsh"
FISH = "completions/aisre.fish"

HELP_OPTS = ("-h", "--help")

ENVIRONMENT: list[tuple[str, str]] = [
    ("AISRE_PROFILE", "Config profile to use when --profile is not given."),
    (
        "AISRE_HOME",
        "When set, replaces both XDG roots: configuration is read from $AISRE_HOME/config "
        "and data is kept in $AISRE_HOME/data.",
    ),
    (
        "AISRE_RAISE_ERRORS",
        "Set to 1 to let errors propagate with a Python traceback instead of the "
        "one-line message and hint (for bug reports).",
    ),
    (
        "AISRE_<NAME>_TOKEN",
        "API token for the credential NAME (upper-cased, non-alphanumerics replaced by _), "
        "used when the OS keyring has none, e.g. AISRE_PAGERDUTY_TOKEN.",
    ),
    (
        "AISRE_AUTHOR",
        "Author recorded by aisre change record when --author is not given (default: $USER).",
    ),
    (
        "AISRE_NO_PLUGINS",
        "Set to 1 to load only the built-in sources and capabilities, no plugin packages.",
    ),
    ("XDG_CONFIG_HOME", "Base of the configuration directory (default ~/.config)."),
    ("XDG_DATA_HOME", "Base of the data directory (default ~/.local/share)."),
    ("VISUAL, EDITOR", "Editor for aisre config edit ($VISUAL, else $EDITOR, else vi)."),
    (
        "KUBECONFIG",
        "kubectl configuration files for the Kubernetes source and runbook steps when the "
        "profile names none (default ~/.kube/config).",
    ),
    (
        "CI",
        "When true (true, 1 or yes), aisre change record defaults to --no-spool: a change "
        "the team store cannot take is an error, not kept on a throwaway runner.",
    ),
]

FILES: list[tuple[str, str]] = [
    ("$XDG_CONFIG_HOME/aisre/config.yaml", "Named profiles: sources, budgets, policy."),
    (
        "$XDG_CONFIG_HOME/aisre/secrets.yaml",
        "Plaintext (mode 0600) token store, only when the keyring is unavailable and "
        "insecure storage was accepted.",
    ),
    ("$XDG_DATA_HOME/aisre/audit.jsonl", "Tamper-evident audit log."),
    (
        "$XDG_DATA_HOME/aisre/audit.jsonl.head",
        "The audit log's head anchor (last sequence number and hash), checked by "
        "aisre audit verify.",
    ),
    ("$XDG_DATA_HOME/aisre/memory.sqlite3", "Incident memory."),
    ("$XDG_DATA_HOME/aisre/runs/", "Runbook run checkpoints (RUN_ID.json)."),
    ("$XDG_DATA_HOME/aisre/changes.jsonl", "Changes recorded with aisre change record."),
    (
        "$XDG_DATA_HOME/aisre/spool/",
        "Team mode: memory and audit writes kept locally while the team store is "
        "unreachable (aisre memory sync sends them).",
    ),
    ("$XDG_DATA_HOME/aisre/cache/", "Caches (the runbook index); safe to delete."),
]


# --------------------------------------------------------------------------- model


@dataclass
class Opt:
    names: list[str]  # primary names then secondary (--x/--no-x) names
    help: str
    takes_value: bool
    kind: str  # "flag", "count", "value", "dir", "file", "path", "choice"
    choices: list[str]
    metavar: str
    multiple: bool
    envvar: str | None
    deprecated: bool = False

    @property
    def longs(self) -> list[str]:
        return [n for n in self.names if n.startswith("--")]

    @property
    def shorts(self) -> list[str]:
        return [n for n in self.names if not n.startswith("--")]

    @property
    def sort_key(self) -> str:
        return (self.longs or self.names)[0].lstrip("-").lower()


@dataclass
class Arg:
    name: str
    metavar: str
    help: str
    required: bool
    variadic: bool
    kind: str
    choices: list[str]


@dataclass
class Cmd:
    path: list[str]
    help: str
    short: str
    deprecated: bool
    options: list[Opt]
    args: list[Arg]
    subcommands: list[Cmd] = field(default_factory=list)

    @property
    def key(self) -> str:
        return " ".join(self.path)

    @property
    def ident(self) -> str:
        return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in self.path)

    def walk(self) -> Iterator[Cmd]:
        yield self
        for sub in self.subcommands:
            yield from sub.walk()

    def offered(self) -> Cmd:
        """The tree completions offer: the man page documents deprecated commands and
        options (marked), completing never suggests them."""
        return dataclasses.replace(
            self,
            options=[o for o in self.options if not o.deprecated],
            subcommands=[s.offered() for s in self.subcommands if not s.deprecated],
        )


def _plain(text: str | None, markup: str | None = None) -> str:
    """Help text as the user sees it: before click's \\f, no \\b markers, and rich markup
    stripped only when the command renders it (`rich_markup_mode="rich"`): with
    `rich_markup_mode=None` `--help` shows "[default: 5]" literally, and so must we."""
    if not text:
        return ""
    text = text.split("\f", 1)[0]
    lines = [ln for ln in text.splitlines() if ln.strip() != "\b"]
    text = "\n".join(lines).strip()
    if markup != "rich":
        return text
    try:
        from rich.text import Text

        return Text.from_markup(text).plain
    except Exception:
        return text


# A sentence ends at . ! or ? followed by the end of the paragraph or by a space and a
# capital (or an opening quote/bracket), and not inside "e.g." / "i.e.": "(e.g. 30m)" and
# "a abort, ? help." are not sentence ends.
_SENTENCE_END = re.compile(r"(.+?[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)(?=\s+[A-Z`'\"(\[]|\s*$)")


def _first_sentence(text: str, markup: str | None = None) -> str:
    para = " ".join(_plain(text, markup).split("\n\n", 1)[0].split())
    m = _SENTENCE_END.match(para)
    out = m.group(1) if m else para
    return out[:-1] if out.endswith(".") else out


def _choice_str(c: Any) -> str:
    return str(c.value) if isinstance(c, Enum) else str(c)


def _classify(param: Any) -> tuple[str, list[str], bool]:
    """(kind, choices, multiple) for an option's value or an argument."""
    desc = getattr(param, "type_descriptor", None)
    multiple = bool(getattr(param, "multiple", False))
    if desc is not None:  # Typer >= 0.2x: lazily typed parameters
        multiple = multiple or bool(desc.is_list)
        if desc.is_choice:
            return "choice", sorted(_choice_str(c) for c in desc.choices or ()), multiple
        if desc.is_file:
            return "file", [], multiple
        elem = typing.get_args(desc.annotation) if desc.is_list else ()
        if len(elem) == 1 and dataclasses.is_dataclass(desc):
            # list[Path] (`eval DIRECTORIES...`): complete like one Path
            desc = dataclasses.replace(desc, annotation=elem[0])
        if desc.is_path:
            info = desc.parameter_info
            file_ok = getattr(info, "file_okay", True)
            dir_ok = getattr(info, "dir_okay", True)
            if dir_ok and not file_ok:
                return "dir", [], multiple
            return ("file" if file_ok and not dir_ok else "path"), [], multiple
        return "value", [], multiple
    ptype = getattr(param, "type", None)  # plain click
    if ptype is not None and hasattr(ptype, "choices"):
        return "choice", sorted(_choice_str(c) for c in ptype.choices), multiple
    if ptype is not None and hasattr(ptype, "dir_okay"):
        if ptype.dir_okay and not ptype.file_okay:
            return "dir", [], multiple
        return ("file" if ptype.file_okay and not ptype.dir_okay else "path"), [], multiple
    if type(ptype).__name__ == "File":
        return "file", [], multiple
    return "value", [], multiple


_METAVARS = {"dir": "DIR", "file": "FILE", "path": "PATH"}


def _metavar(param: Any, kind: str, choices: list[str]) -> str:
    if getattr(param, "metavar", None):
        return str(param.metavar)
    if kind == "choice":
        return "[" + "|".join(choices) + "]"
    if kind in _METAVARS:
        return _METAVARS[kind]
    desc = getattr(param, "type_descriptor", None)
    ann = getattr(desc, "annotation", None)
    return {int: "INTEGER", float: "FLOAT"}.get(ann, "TEXT")  # type: ignore[call-overload]


def _option(param: Any, markup: str | None = None) -> Opt:
    names = list(param.opts) + list(getattr(param, "secondary_opts", []) or [])
    help_text = " ".join(_plain(getattr(param, "help", ""), markup).split())
    if getattr(param, "count", False):
        kind, choices, multiple, takes = "count", [], True, False
    elif getattr(param, "is_flag", False):
        kind, choices, multiple, takes = "flag", [], False, False
    else:
        kind, choices, multiple = _classify(param)
        takes = True
    if "--bundle" in names:  # bundles are directories, whatever the annotation says
        kind = "dir"
    envvar = param.envvar if isinstance(getattr(param, "envvar", None), str) else None
    metavar = _metavar(param, kind, choices) if takes else ""
    deprecated = bool(getattr(param, "deprecated", False))
    return Opt(names, help_text, takes, kind, choices, metavar, multiple, envvar, deprecated)


def _argument(param: Any, markup: str | None = None) -> Arg:
    kind, choices, _ = _classify(param)
    name = str(param.metavar or param.name).upper()
    return Arg(
        name=param.name,
        metavar=name,
        help=" ".join(_plain(getattr(param, "help", ""), markup).split()),
        required=bool(param.required),
        variadic=param.nargs == -1,
        kind=kind,
        choices=choices,
    )


def build(command: Any, path: list[str], markup: str | None = None) -> Cmd:
    # Typer commands say how their help is rendered; plain click ones have no markup.
    markup = getattr(command, "rich_markup_mode", markup)
    options, args = [], []
    for p in command.params:
        if getattr(p, "hidden", False):
            continue
        if p.param_type_name == "argument":
            args.append(_argument(p, markup))
        else:
            options.append(_option(p, markup))
    options.sort(key=lambda o: o.sort_key)
    help_text = _plain(command.help, markup)
    cmd = Cmd(
        path=path,
        help=help_text,
        short=_first_sentence(_plain(command.short_help, markup) or help_text),
        deprecated=bool(getattr(command, "deprecated", False)),
        options=options,
        args=args,
    )
    subs = getattr(command, "commands", None) or {}
    for name in sorted(subs):
        sub = subs[name]
        if getattr(sub, "hidden", False):
            continue
        cmd.subcommands.append(build(sub, [*path, name], markup))
    return cmd


def load_tree() -> Cmd:
    import typer.main

    from aisre_cli.ui.cli.app import _register, app

    _register()
    return build(typer.main.get_command(app), ["aisre"])


def exit_codes() -> list[tuple[int, str, str]]:
    """(value, name, docstring) for each ExitCode member, from the source's docstrings."""
    from aisre_cli import errors

    tree = ast.parse(Path(errors.__file__).read_text(encoding="utf-8"))
    out: list[tuple[int, str, str]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "ExitCode":
            body = node.body
            for i, stmt in enumerate(body):
                if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
                    continue
                target = stmt.targets[0]
                if not isinstance(target, ast.Name):
                    continue
                doc = ""
                nxt = body[i + 1] if i + 1 < len(body) else None
                if (
                    isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)
                ):
                    doc = " ".join(nxt.value.value.split())
                out.append((int(errors.ExitCode[target.id]), target.id, doc))
    return sorted(out)


# --------------------------------------------------------------------------- help text


def split_help(help_text: str) -> tuple[list[str], list[str]]:
    """(description paragraphs, example command lines) from a docstring."""
    paras: list[str] = []
    examples: list[str] = []
    in_examples = False
    for block in re.split(r"\n\s*\n", help_text):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        rest: list[str] = []
        for ln in lines:
            m = re.match(r"(?i)examples?:\s*(.*)$", ln)
            if m:
                in_examples = True
                ln = m.group(1)
                if not ln:
                    continue
            if ln.startswith(("aisre ", "$ aisre ")) or (in_examples and ln == "aisre"):
                examples.append(ln.removeprefix("$ "))
            elif in_examples and not rest and ln.startswith("#"):
                continue
            else:
                in_examples = False
                rest.append(ln)
        if rest:
            paras.append(" ".join(rest))
    return paras, examples


# --------------------------------------------------------------------------- man page


def roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def _man_opt(o: Opt) -> str:
    names = ", ".join(f"\\fB{roff(n)}\\fR" for n in o.names)
    if o.takes_value:
        names += f" \\fI{roff(o.metavar)}\\fR"
    return names


def _usage(cmd: Cmd) -> str:
    parts = [f"\\fB{roff(cmd.key)}\\fR"]
    parts.append("[\\fIOPTIONS\\fR]")  # -h/--help is always there
    for a in cmd.args:
        mv = f"\\fI{roff(a.metavar)}\\fR" + ("..." if a.variadic else "")
        parts.append(mv if a.required else f"[{mv}]")
    if cmd.subcommands:
        parts.append("\\fICOMMAND\\fR [\\fIARGS\\fR]...")
    return " ".join(parts)


def _man_options(lines: list[str], opts: list[Opt]) -> None:
    for o in opts:
        lines.append(".TP")
        lines.append(_man_opt(o))
        extra = []
        if o.deprecated:
            extra.append("(Deprecated.)")
        if o.multiple and o.kind != "count":
            extra.append("May be repeated.")
        if o.envvar:
            extra.append(f"Environment: {o.envvar}.")
        lines.append(roff(" ".join([o.help, *extra]).strip()) or "\\&")


def _man_args(lines: list[str], args: list[Arg]) -> None:
    for a in args:
        lines.append(".TP")
        lines.append(f"\\fI{roff(a.metavar)}\\fR")
        text = a.help
        if a.kind == "choice":
            text += " One of: " + ", ".join(a.choices) + "."
        lines.append(roff(text.strip()) or "\\&")


def man_page(tree: Cmd, version: str) -> str:
    root_paras, root_examples = split_help(tree.help)
    first = root_paras[0] if root_paras else "aisre"
    summary = first.split(":", 1)[1].strip() if ":" in first else first
    summary = summary.rstrip(".")
    lines = [
        '.\\" Generated by scripts/gen_docs.py from the aisre command tree. Do not edit.',
        f'.TH AISRE 1 "" "aisre {roff(version)}" "User Commands"',
        ".SH NAME",
        f"aisre \\- {roff(summary)}",
        ".SH SYNOPSIS",
        _usage(tree),
    ]
    for cmd in tree.walk():
        if cmd is tree or cmd.subcommands:
            continue
        lines += [".br", _usage(cmd)]
    lines.append(".SH DESCRIPTION")
    for i, para in enumerate(root_paras[1:] if ":" in first else root_paras):
        if i:
            lines.append(".PP")
        lines.append(roff(para))
    lines += [".SH OPTIONS", ".TP", "\\fB\\-h\\fR, \\fB\\-\\-help\\fR"]
    lines.append("Show help for aisre or any command and exit.")
    _man_options(lines, tree.options)

    lines.append(".SH COMMANDS")
    examples: list[str] = list(root_examples)
    for cmd in tree.walk():
        if cmd is tree:
            continue
        paras, exs = split_help(cmd.help)
        examples += exs
        lines.append(f'.SS "{roff(cmd.key)}"')
        lines.append(_usage(cmd))
        if cmd.deprecated:
            lines += [".PP", "(Deprecated.)"]
        for para in paras:
            lines += [".PP", roff(para)]
        if cmd.subcommands:
            lines += [".PP", "Commands:"]
            for sub in cmd.subcommands:
                lines += [".TP", f"\\fB{roff(sub.path[-1])}\\fR", roff(sub.short)]
        if cmd.args:
            lines += [".PP", "Arguments:", ".RS 4"]
            _man_args(lines, cmd.args)
            lines.append(".RE")
        if cmd.options:
            lines += [".PP", "Options:", ".RS 4"]
            _man_options(lines, cmd.options)
            lines.append(".RE")

    lines.append(".SH EXIT STATUS")
    for value, name, doc in exit_codes():
        lines += [".TP", f"\\fB{value}\\fR ({name})", roff(doc)]

    lines.append(".SH ENVIRONMENT")
    env = dict(ENVIRONMENT)
    for cmd in tree.walk():
        for o in cmd.options:
            if o.envvar and o.envvar not in env:
                env[o.envvar] = f"Default for {cmd.key} {o.names[0]}."
    for name in [n for n, _ in ENVIRONMENT] + sorted(set(env) - {n for n, _ in ENVIRONMENT}):
        lines += [".TP", f"\\fB{roff(name)}\\fR", roff(env[name])]

    lines.append(".SH FILES")
    for path, desc in FILES:
        lines += [".TP", f"\\fI{roff(path)}\\fR", roff(desc)]

    lines.append(".SH EXAMPLES")
    seen: set[str] = set()
    for ex in examples:
        if ex in seen:
            continue
        # no .PP before the first: a paragraph break right after .SH is skipped (mandoc)
        if seen:
            lines.append(".PP")
        seen.add(ex)
        lines += [".RS 4", ".nf", roff(ex), ".fi", ".RE"]
    lines += [".SH SEE ALSO", "Run \\fBaisre\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR for details."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- bash


def _sh_words(words: list[str]) -> str:
    return " ".join(words)


def bash_completion(tree: Cmd, version: str) -> str:
    cmds = list(tree.offered().walk())
    out = [
        "# bash completion for aisre",
        f"# Generated by scripts/gen_docs.py from aisre {version}. Do not edit.",
        "# Fully static: completing never runs Python.",
        "",
        "_aisre_commands() {",
        '    case "$1" in',
    ]
    for c in cmds:
        if c.subcommands:
            subs = _sh_words([s.path[-1] for s in c.subcommands])
            out.append(f'        "{c.key}") echo "{subs}" ;;')
    out += ["    esac", "}", "", "_aisre_options() {", '    case "$1" in']
    for c in cmds:
        names = sorted({n for o in c.options for n in o.names} | set(HELP_OPTS))
        out.append(f'        "{c.key}") echo "{_sh_words(names)}" ;;')
    out += [
        "    esac",
        "}",
        "",
        "# How an option's value completes: dir, file, value, or 'choice A B ...';",
        "# nothing for flags.",
        "_aisre_value_kind() {",
        '    case "$1 $2" in',
    ]
    for c in cmds:
        for o in c.options:
            if not o.takes_value:
                continue
            pats = "|".join(f'"{c.key} {n}"' for n in o.names)
            kind = _bash_kind(o.kind, o.choices)
            out.append(f'        {pats}) echo "{kind}" ;;')
    out += ["    esac", "}", "", "_aisre_arg_kind() {", '    case "$1" in']
    for c in cmds:
        if c.args and not c.subcommands:
            out.append(
                f'        "{c.key}") echo "{_bash_kind(c.args[0].kind, c.args[0].choices)}" ;;'
            )
    out += [
        "    esac",
        "}",
        "",
        "_aisre_reply() {",
        '    mapfile -t COMPREPLY < <(compgen "$@")',
        "}",
        "",
        "_aisre() {",
        "    local cur prev word kind opt path i",
        "    COMPREPLY=()",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev=""',
        '    [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    path="aisre"',
        "    i=1",
        '    while [ "$i" -lt "$COMP_CWORD" ]; do',
        '        word="${COMP_WORDS[i]}"',
        '        case "$word" in',
        "            --*=*) ;;",
        "            -*)",
        '                kind="$(_aisre_value_kind "$path" "$word")"',
        '                if [ -n "$kind" ]; then',
        "                    i=$((i + 1))",
        '                    [ "${COMP_WORDS[i]}" = "=" ] && i=$((i + 1))',
        "                fi",
        "                ;;",
        "            *)",
        '                if [[ " $(_aisre_commands "$path") " == *" $word "* ]]; then',
        '                    path="$path $word"',
        "                fi",
        "                ;;",
        "        esac",
        "        i=$((i + 1))",
        "    done",
        "",
        '    opt=""',
        '    if [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then',
        '        opt="${COMP_WORDS[COMP_CWORD-2]}"',
        '    elif [[ "$prev" == -* ]]; then',
        '        opt="$prev"',
        "    fi",
        '    if [ "$cur" = "=" ]; then',
        '        opt="$prev"',
        '        cur=""',
        "    fi",
        '    if [ -n "$opt" ]; then',
        '        kind="$(_aisre_value_kind "$path" "$opt")"',
        '        if [ -n "$kind" ]; then',
        '            _aisre_complete_kind "$kind" "$cur"',
        "            return 0",
        "        fi",
        "    fi",
        '    if [[ "$cur" == -* ]]; then',
        '        _aisre_reply -W "$(_aisre_options "$path")" -- "$cur"',
        "        return 0",
        "    fi",
        '    local subs="$(_aisre_commands "$path")"',
        '    if [ -n "$subs" ]; then',
        '        _aisre_reply -W "$subs" -- "$cur"',
        "        return 0",
        "    fi",
        '    kind="$(_aisre_arg_kind "$path")"',
        '    [ -n "$kind" ] && _aisre_complete_kind "$kind" "$cur"',
        "    return 0",
        "}",
        "",
        "_aisre_complete_kind() {",
        '    case "$1" in',
        "        dir)",
        "            compopt -o filenames 2>/dev/null",
        '            _aisre_reply -d -- "$2" ;;',
        "        file|path)",
        "            compopt -o filenames 2>/dev/null",
        '            _aisre_reply -f -- "$2" ;;',
        '        "choice "*)',
        '            _aisre_reply -W "${1#choice }" -- "$2" ;;',
        "    esac",
        "}",
        "",
        "complete -F _aisre aisre",
    ]
    return "\n".join(out) + "\n"


def _bash_kind(kind: str, choices: list[str]) -> str:
    if kind == "choice":
        return "choice " + " ".join(choices)
    return kind if kind in ("dir", "file", "path") else "value"


# --------------------------------------------------------------------------- zsh


def _zq(text: str) -> str:
    """Inside a single-quoted zsh word."""
    return text.replace("'", "'\\''")


def _zdesc(text: str) -> str:
    return _zq(text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]"))


def _zaction(kind: str, choices: list[str], label: str) -> str:
    label = _zq(label.replace(":", "\\:"))
    if kind == "dir":
        return f":{label}:_files -/"
    if kind in ("file", "path"):
        return f":{label}:_files"
    if kind == "choice":
        return f":{label}:(" + " ".join(_zq(c.replace(" ", "\\ ")) for c in choices) + ")"
    return f":{label}: "


def _zspec(o: Opt) -> list[str]:
    desc = _zdesc(_first_sentence(o.help) if o.help else "")
    action = (
        _zaction(o.kind, o.choices, (o.longs or o.names)[0].lstrip("-")) if o.takes_value else ""
    )
    repeat = o.multiple or o.kind == "count"
    excl = "" if repeat else "(" + " ".join(o.names) + ")"
    star = "*" if repeat else ""
    # Like click: a value may follow as the next word, or in the same word after "="
    # (--format=json) or, for a short option, right after it (-fjson).
    names = [n + ("" if not o.takes_value else "=" if n.startswith("--") else "+") for n in o.names]
    if len(names) == 1:
        return [f"'{excl}{star}{names[0]}[{desc}]{action}'"]
    brace = "{" + ",".join(names) + "}"
    return [f"'{excl}{star}'{brace}'[{desc}]{action}'"]


def zsh_completion(tree: Cmd, version: str) -> str:
    out = [
        "#compdef aisre",
        "# zsh completion for aisre",
        f"# Generated by scripts/gen_docs.py from aisre {version}. Do not edit.",
        "# Fully static: completing never runs Python.",
        "",
    ]
    for c in tree.offered().walk():
        fn = f"_{c.ident}"
        specs: list[str] = []
        for o in c.options:
            specs += _zspec(o)
        specs.append("'(- *)'{-h,--help}'[Show help and exit]'")
        out += [f"{fn}() {{"]
        if c.subcommands:
            out += [
                '    local curcontext="$curcontext" state line ret=1',
                "    typeset -A opt_args",
                # -A: options after the subcommand are the subcommand's, not ours
                "    _arguments -C -s -A '-*' \\",
            ]
            out += [f"        {s} \\" for s in specs]
            out += [
                f"        ': :{fn}_commands' \\",
                "        '*:: :->args' && ret=0",
                '    case "$state" in',
                "        args)",
                f'            curcontext="${{curcontext%:*:*}}:{"-".join(c.path)}-$words[1]:"',
                '            case "$words[1]" in',
            ]
            for s in c.subcommands:
                out.append(f"                {_zq(s.path[-1])}) _{s.ident} && ret=0 ;;")
            out += ["            esac", "            ;;", "    esac", "    return ret", "}", ""]
            out += [f"{fn}_commands() {{", "    local -a commands", "    commands=("]
            for s in c.subcommands:
                name = s.path[-1].replace(":", "\\:")
                out.append(f"        '{_zq(name)}:{_zq(s.short)}'")
            out += [
                "    )",
                f"    _describe -t commands '{_zq(c.key)} command' commands",
                "}",
                "",
            ]
        else:
            for i, a in enumerate(c.args, start=1):
                pos = "*" if a.variadic else str(i)
                opt = "" if a.required or a.variadic else ":"
                action = _zaction(a.kind, a.choices, a.metavar.lower())
                specs.append(f"'{pos}:{opt}{action[1:]}'")
            out += ["    _arguments -s \\"]
            out += [f"        {s} \\" for s in specs[:-1]]
            out += [f"        {specs[-1]}", "}", ""]
    out += [
        'if [ "$funcstack[1]" = "_aisre" ]; then',
        '    _aisre "$@"',
        "else",
        "    compdef _aisre aisre",
        "fi",
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- fish


def _fq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_completion(tree: Cmd, version: str) -> str:
    cmds = list(tree.offered().walk())
    out = [
        "# fish completion for aisre",
        f"# Generated by scripts/gen_docs.py from aisre {version}. Do not edit.",
        "# Fully static: completing never runs Python.",
        "",
        "function __aisre_commands",
        "    switch $argv[1]",
    ]
    for c in cmds:
        if c.subcommands:
            out.append(f"        case {_fq(c.key)}")
            out.append(
                "            printf '%s\\n' " + " ".join(_fq(s.path[-1]) for s in c.subcommands)
            )
    out += ["    end", "end", "", "function __aisre_takes_value", '    switch "$argv[1] $argv[2]"']
    pats = [_fq(f"{c.key} {n}") for c in cmds for o in c.options if o.takes_value for n in o.names]
    if pats:
        out += ["        case " + " ".join(pats), "            return 0"]
    out += [
        "    end",
        "    return 1",
        "end",
        "",
        "# The subcommand path of the command line being completed, e.g. 'aisre triage'.",
        "function __aisre_path",
        "    set -l tokens (commandline -opc)",
        "    set -e tokens[1]",
        "    set -l path aisre",
        "    set -l skip 0",
        "    for tok in $tokens",
        "        if test $skip -eq 1",
        "            set skip 0",
        "            continue",
        "        end",
        "        switch $tok",
        "            case '--*=*'",
        "            case '-*'",
        '                if __aisre_takes_value "$path" $tok',
        "                    set skip 1",
        "                end",
        "            case '*'",
        '                if contains -- $tok (__aisre_commands "$path")',
        '                    set path "$path $tok"',
        "                end",
        "        end",
        "    end",
        "    echo $path",
        "end",
        "",
        "function __aisre_at",
        '    test (__aisre_path) = "$argv[1]"',
        "end",
        "",
        "complete -c aisre -f",
    ]
    for c in cmds:
        cond = '"__aisre_at ' + _fq(c.key) + '"'
        out.append("")
        out.append(f"# {c.key}")
        for s in c.subcommands:
            out.append(f"complete -c aisre -n {cond} -a {_fq(s.path[-1])} -d {_fq(s.short)}")
        out.append(f"complete -c aisre -n {cond} -s h -l help -d 'Show help and exit'")
        for o in c.options:
            parts = [f"complete -c aisre -n {cond}"]
            for n in o.names:
                if n.startswith("--"):
                    parts.append(f"-l {n[2:]}")
                elif len(n) == 2:
                    parts.append(f"-s {n[1:]}")
                else:
                    parts.append(f"-o {n[1:]}")
            if o.takes_value:
                parts.append(_fish_value(o.kind, o.choices))
            if o.help:
                parts.append(f"-d {_fq(_first_sentence(o.help))}")
            out.append(" ".join(parts))
        if c.args and not c.subcommands:
            a = c.args[0]
            if a.kind in ("dir", "file", "path", "choice"):
                out.append(f"complete -c aisre -n {cond} {_fish_value(a.kind, a.choices)}")
    return "\n".join(out) + "\n"


def _fish_value(kind: str, choices: list[str]) -> str:
    if kind == "dir":
        # Without the "--opt=" of "--opt=DIR": fish puts it back in front of each
        # candidate itself (else --bundle=<TAB> offers --bundle=--bundle=dir/).
        return (
            "-x -a '(__fish_complete_directories "
            '(commandline -ct | string replace -r -- "^-[^=]*=" ""))\''
        )
    if kind in ("file", "path"):
        return "-r -F"
    if kind == "choice":
        return "-x -a " + _fq(" ".join(choices))
    return "-x"


# --------------------------------------------------------------------------- main


def render() -> dict[str, str]:
    from aisre_cli import __version__

    tree = load_tree()
    return {
        MAN_PAGE: man_page(tree, __version__),
        BASH: bash_completion(tree, __version__),
        ZSH: zsh_completion(tree, __version__),
        FISH: fish_completion(tree, __version__),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is out of date"
    )
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = []
        for rel, text in sorted(files.items()):
            p = ROOT / rel
            if not p.exists() or p.read_text(encoding="utf-8") != text:
                stale.append(rel)
        if stale:
            print("out of date (run python scripts/gen_docs.py):", file=sys.stderr)
            for rel in stale:
                print(f"  {rel}", file=sys.stderr)
            return 1
        print("generated docs are up to date")
        return 0
    for rel, text in sorted(files.items()):
        p = ROOT / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
