"""Runbooks: the YAML format, the loader (with file:line positions) and validation.

A runbook is data, not code. It says what it applies to (`applies_to`: hypothesis
kinds, alert label matchers), which typed parameters it takes (and where their
defaults come from: the verdict's service, namespace, change id, versions), and its
steps. Each step names a capability from the registry and gives its inputs, which may
reference parameters as `{{ name }}`.

`validate_runbook()` catches, before anything runs: unknown capabilities, inputs that
fail the capability's schema (checked with stand-in values of each parameter's
type), references to undefined names, a PromQL verification that interpolates a free
text parameter, undo references to missing steps, undo steps nothing refers to
(unreachable), duplicate ids, and a verification that uses a plugin capability the
policy does not trust (`trusted`: the policy's `trusted_plugin_capabilities`, passed
in by the caller, since remediate never reads the policy; none given: none trusted). A
verification runs without confirmation, so it must be a `read` capability, and a
plugin's word that it only reads is not enough. Every problem carries `file:line`,
because the loader keeps the line of each YAML node.

Shipped runbooks live in the top-level `runbooks/`; a profile adds folders with
`runbook_dirs`. A later folder may not silently replace an earlier id: duplicates are
a validation error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aisre_cli.errors import AisreError, ExitCode, UsageError
from aisre_cli.model import HYPOTHESIS_KINDS
from aisre_cli.remediate import templating
from aisre_cli.remediate.capabilities import Registry, default_registry
from aisre_cli.remediate.files import runbook_dirs as runbook_dirs
from aisre_cli.remediate.files import runbook_files as runbook_files
from aisre_cli.remediate.types import (
    PARAM_TYPES,
    QUERY_SAFE_TYPES,
    SAMPLE_VALUES,
    validate_param,
    wait_duration,
)
from aisre_cli.settings.config import Profile
from aisre_cli.settings.safeyaml import DEFAULT_LIMITS, YamlProblem, parse_yaml, read_bytes

ID_RE = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
DEFAULT_SOURCES = (
    "service",
    "service_label",
    "namespace",
    "change_id",
    "version",
    "previous_version",
    "alertname",
    "deployment",
    "certificate",
    "pvc",
    "incident_id",
)
"""Where a parameter default may come from (the verdict and its alert); also
`label:NAME` for any alert label."""


class RunbookError(AisreError):
    exit_code = ExitCode.USAGE


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppliesTo(_M):
    kinds: list[str] = Field(default_factory=list)
    """Hypothesis kinds this runbook fixes (DESIGN.md taxonomy)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Alert label matchers: label -> regex (full match)."""
    services: list[str] = Field(default_factory=list)
    """Service name regexes (full match); empty: any service."""

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        for k in v:
            if k not in HYPOTHESIS_KINDS:
                raise ValueError(
                    f"unknown hypothesis kind {k!r} (known: {', '.join(HYPOTHESIS_KINDS)})"
                )
        return v

    @field_validator("labels")
    @classmethod
    def _regexes(cls, v: dict[str, str]) -> dict[str, str]:
        for k, rx in v.items():
            try:
                re.compile(rx)
            except re.error as exc:
                raise ValueError(f"label {k}: bad regex: {exc}") from None
        return v


class Param(_M):
    type: str = "name"
    """One of remediate.types.PARAM_TYPES."""
    description: str = ""
    default: Any = None
    """Literal default (validated against the type)."""
    from_: str | None = Field(default=None, alias="from")
    """Take the default from the verdict: service, namespace, change_id, ... or label:NAME."""
    required: bool = True
    """A required parameter with no value stops planning."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {v!r} (known: {', '.join(PARAM_TYPES)})")
        return v

    @field_validator("from_")
    @classmethod
    def _from(cls, v: str | None) -> str | None:
        if v is None or v in DEFAULT_SOURCES or re.fullmatch(r"label:[A-Za-z_][A-Za-z0-9_]*", v):
            return v
        raise ValueError(
            f"unknown default source {v!r} (known: {', '.join(DEFAULT_SOURCES)}, label:NAME)"
        )


class Verify(_M):
    """How a step's success is checked, after it ran."""

    query: str | None = None
    """PromQL evaluated by `prometheus.query`; must satisfy `expect`."""
    expect: str | None = None
    """A bound: `< 0.05`, `<= 2`, `> 0`, `>= 3`, `== 0`; `absent` means no series."""
    capability: str | None = None
    """Alternatively a read capability that must succeed (e.g. kubectl.rollout_status)."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    timeout: str = "2m"
    """Keep retrying until this long has passed."""
    interval: str = "10s"
    """Time between attempts (at least 1s); the last attempt is made at the timeout."""

    @field_validator("expect")
    @classmethod
    def _expect(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "absent" or parse_bound(v) is not None:
            return v
        raise ValueError("expect must be like '< 0.05', '>= 3', '== 0' or 'absent'")


def parse_bound(v: str) -> tuple[str, float] | None:
    m = re.fullmatch(r"\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*", v)
    return (m.group(1), float(m.group(2))) if m else None


def check_bound(value: float | None, expect: str) -> bool:
    if expect.strip() == "absent":
        return value is None
    b = parse_bound(expect)
    if b is None or value is None:
        return False
    op, x = b
    return {
        "<": value < x,
        "<=": value <= x,
        ">": value > x,
        ">=": value >= x,
        "==": value == x,
        "!=": value != x,
    }[op]


class UndoInline(_M):
    capability: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class Step(_M):
    id: str = Field(pattern=ID_RE)
    title: str
    capability: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    confirm: bool = False
    """Always ask a human for this step, whatever autonomy the policy grants."""
    verify: Verify | None = None
    undo: Literal["auto"] | str | UndoInline | None = None
    """`auto` (the capability's own inverse), the id of an `undo_steps` entry, or inline."""
    needs: list[str] = Field(default_factory=list)
    """Earlier steps this one depends on: skipped with them. Besides these, a step
    depends on every earlier write step that targets the same object (same `kind`,
    `name` and `namespace` inputs), e.g. "wait for the rollback" on "roll back"."""
    description: str = ""


class Runbook(_M):
    id: str = Field(pattern=ID_RE)
    title: str
    description: str = ""
    version: int = 1
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    params: dict[str, Param] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    undo_steps: list[Step] = Field(default_factory=list)

    # set by the loader (not part of the YAML)
    source: str = Field(default="", exclude=True)
    sha256: str = Field(default="", exclude=True)

    @property
    def needs(self) -> dict[str, str]:
        """The required parameters without a default, each with the verdict fact that
        can fill it (`from`, "" when none can): what a hint to run this runbook must
        ask for when the verdict does not give it."""
        return {
            name: p.from_ or ""
            for name, p in self.params.items()
            if p.required and p.default is None
        }

    def step(self, step_id: str) -> Step:
        for s in (*self.steps, *self.undo_steps):
            if s.id == step_id:
                return s
        raise UsageError(f"runbook {self.id}: no step {step_id!r}")


BUILTIN_NAMES = ("run_id", "environment", "profile_namespace")
"""Names every template may use besides the runbook's parameters."""


@dataclass(frozen=True)
class Problem:
    """One validation finding: where and what."""

    file: str
    line: int
    message: str
    runbook: str = ""

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


# ------------------------------------------------------------------ loading


@dataclass
class _Loaded:
    data: Any
    lines: dict[tuple[str | int, ...], int]


def _line(lines: dict[tuple[str | int, ...], int], loc: Sequence[str | int]) -> int:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), 1)


@dataclass
class LoadedRunbook:
    runbook: Runbook | None
    file: str
    lines: dict[tuple[str | int, ...], int]
    problems: list[Problem]


def load_file(path: Path) -> LoadedRunbook:
    """Parse and schema-check one file; problems instead of exceptions."""
    where = str(path)
    try:
        raw = read_bytes(path, max_bytes=DEFAULT_LIMITS.max_bytes, error=RunbookError)
    except RunbookError as exc:
        problem = exc.message.removeprefix(f"{where}: ")
        return LoadedRunbook(None, where, {}, [Problem(where, 1, problem)])
    try:
        data, lines = parse_yaml(raw.decode("utf-8"), where, with_lines=True)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return LoadedRunbook(None, where, {}, [Problem(where, line, "not UTF-8 text")])
    except YamlProblem as exc:
        return LoadedRunbook(
            None, where, {}, [Problem(where, exc.line, f"not valid YAML: {exc.problem}")]
        )
    loaded = _Loaded(data, lines)
    if not isinstance(loaded.data, dict):
        return LoadedRunbook(
            None, where, loaded.lines, [Problem(where, 1, "a runbook is a YAML mapping")]
        )
    try:
        rb = Runbook.model_validate(loaded.data)
    except ValidationError as exc:
        # the id it claims, so `runbook run ID` can say the file is invalid
        claimed = loaded.data.get("id")
        rid = claimed if isinstance(claimed, str) else ""
        problems = []
        for err in exc.errors():
            loc = [
                x
                for x in err["loc"]
                if not (isinstance(x, str) and x in ("str", "UndoInline", "literal['auto']"))
            ]
            loc = ["from" if x == "from_" else x for x in loc]
            dotted = ".".join(str(x) for x in loc)
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(where, _line(loaded.lines, loc), f"{dotted}: {msg}", rid))
        return LoadedRunbook(None, where, loaded.lines, problems)
    rb.source = where
    rb.sha256 = hashlib.sha256(raw).hexdigest()
    return LoadedRunbook(rb, where, loaded.lines, [])


def load_runbooks(
    profile: Profile | None = None,
    *,
    strict: bool = True,
    skipped: list[Problem] | None = None,
    trusted: Collection[str] = (),
) -> list[Runbook]:
    """Every runbook of the profile (shipped ones first). Invalid ones raise when strict.

    With `strict=False` invalid files are skipped (triage must still work when a user's
    folder holds a broken runbook; `aisre runbook validate` reports it) and the first
    problem of each skipped file is appended to `skipped`. `trusted`: the plugin
    capabilities the policy trusts (`validate_runbook`).
    """
    files = runbook_files(d for d in runbook_dirs(profile) if d.exists())
    rbs, problems = validate_files(files, trusted=trusted)
    if skipped is not None:
        seen_files: set[str] = set()
        for prob in problems:
            if prob.file not in seen_files:
                seen_files.add(prob.file)
                skipped.append(prob)
    if problems and strict:
        first = problems[0]
        raise RunbookError(
            f"invalid runbook: {first.render()}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            hint="run `aisre runbook validate` for every finding",
        )
    bad = {p.file for p in problems}
    return [rb for rb in rbs if rb.source not in bad]


def find_runbook(
    runbook_id: str, profile: Profile | None = None, *, trusted: Collection[str] = ()
) -> Runbook:
    skipped: list[Problem] = []
    rbs = load_runbooks(profile, strict=False, skipped=skipped, trusted=trusted)
    for prob in skipped:  # a file that claims this id is broken, or a second one claims it
        if prob.runbook == runbook_id:
            twice = prob.message.startswith("duplicate runbook id")
            raise RunbookError(
                f"runbook {runbook_id!r} cannot be used: {prob.render()}",
                hint="ids must be unique across the shipped runbooks and runbook_dirs:"
                " give one of them another id"
                if twice
                else f"`aisre runbook validate {prob.file}` lists every finding",
            )
    for rb in rbs:
        if rb.id == runbook_id:
            problems = validate_files([Path(rb.source)], trusted=trusted)[1]
            if problems:
                raise RunbookError(
                    f"invalid runbook: {problems[0].render()}",
                    hint="run `aisre runbook validate` for every finding",
                )
            return rb
    known = ", ".join(sorted(r.id for r in rbs)) or "none"
    gone = missing_dirs(profile)
    raise UsageError(
        f"no runbook {runbook_id!r} (known: {known})",
        hint=f"the profile's runbook_dirs folder {gone[0]} does not exist"
        if gone
        else "`aisre runbook list`",
    )


def missing_dirs(profile: Profile | None) -> list[Path]:
    """The profile's `runbook_dirs` that do not exist (a typo hides every runbook in
    them: `runbook validate` and `runbook list` say so)."""
    return [d for d in runbook_dirs(profile)[1:] if not d.exists()]


# ------------------------------------------------------------------ validation


def _short(value: str, keep: int = 60) -> str:
    """`value` quoted for a one-line finding: a megabyte of `{{` from a hostile file is
    cut (the file and line say where the rest is)."""
    if len(value) <= keep:
        return repr(value)
    return f"{value[:keep]!r}… ({len(value):,} characters)"


def validate_files(
    files: Sequence[Path], registry: Registry | None = None, *, trusted: Collection[str] = ()
) -> tuple[list[Runbook], list[Problem]]:
    """Load and validate files. Returns the valid runbooks and every problem found."""
    reg = registry or default_registry()
    runbooks: list[Runbook] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for f in files:
        loaded = load_file(f)
        problems += loaded.problems
        rb = loaded.runbook
        if rb is None:
            continue
        found = validate_runbook(rb, loaded.lines, reg, trusted=trusted)
        if rb.id in seen:
            found.append(
                Problem(
                    loaded.file,
                    _line(loaded.lines, ["id"]),
                    f"duplicate runbook id {rb.id!r} (also in {seen[rb.id]})",
                    rb.id,
                )
            )
        else:
            seen[rb.id] = loaded.file
        problems += found
        if not found:
            runbooks.append(rb)
    return runbooks, problems


def validate_runbook(
    rb: Runbook,
    lines: dict[tuple[str | int, ...], int],
    registry: Registry,
    *,
    trusted: Collection[str] = (),
) -> list[Problem]:
    where = rb.source or "<runbook>"
    out: list[Problem] = []

    def add(loc: Sequence[str | int], msg: str) -> None:
        out.append(Problem(where, _line(lines, loc), msg, rb.id))

    # parameters: defaults must fit their types
    for pname, p in rb.params.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", pname):
            add(["params", pname], f"params.{pname}: not a valid name")
        if pname in BUILTIN_NAMES:
            add(["params", pname], f"params.{pname}: shadows a built-in name")
        if p.default is not None:
            try:
                validate_param(p.type, p.default)
            except ValueError as exc:
                add(["params", pname, "default"], f"params.{pname}.default: {exc}")

    names = {*rb.params, *BUILTIN_NAMES}
    samples: dict[str, Any] = {n: SAMPLE_VALUES[p.type] for n, p in rb.params.items()}
    # a real run id (upper-case T and Z): it is no Kubernetes name, so a runbook
    # putting it in one is refused here, not when the run starts
    samples.update(
        run_id="r-20260101T120000Z-abc123", environment="prod", profile_namespace="default"
    )

    ids: set[str] = set()
    undo_ids = {s.id for s in rb.undo_steps}
    referenced_undo: set[str] = set()

    def check_call(
        base: list[str | int], cap_name: str, inputs: dict[str, Any], *, read_only: bool = False
    ) -> None:
        if cap_name not in registry:
            add([*base, "capability"], f"unknown capability {_short(cap_name)}")
            return
        cap = registry.get(cap_name)
        if read_only and cap.scope != "read":
            add(
                [*base, "capability"],
                f"verification must use a read capability, not {cap_name} ({cap.scope})",
            )
        elif read_only and registry.plugin(cap_name) is not None and cap_name not in trusted:
            add(
                [*base, "capability"],
                f"verification runs unconfirmed, so plugin capability {cap_name} must be"
                " trusted: list it in the policy's trusted_plugin_capabilities",
            )
        bad = False
        for key, value in inputs.items():
            for ref in templating.references(value):
                if ref not in names:
                    add([*base, "inputs", key], f"inputs.{key}: undefined name {ref!r} in template")
                    bad = True
            if isinstance(value, str) and templating.malformed(value):
                add([*base, "inputs", key], f"inputs.{key}: malformed template {_short(value)}")
                bad = True
        if bad:
            return
        try:
            rendered = templating.render(inputs, samples)
            cap.input_model.model_validate(rendered)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(x) for x in err["loc"] if isinstance(x, str | int)]
                key = loc[0] if loc else ""
                msg = str(err["msg"]).removeprefix("Value error, ")
                path = ".".join(loc)
                add(
                    [*base, "inputs", key] if key in inputs else [*base, "inputs"],
                    f"inputs.{path}: {msg} (capability {cap_name})",
                )
        except templating.TemplateError as exc:
            add([*base, "inputs"], str(exc))

    def check_step(section: str, idx: int, step: Step) -> None:
        base: list[str | int] = [section, idx]
        if step.id in ids:
            add([*base, "id"], f"duplicate step id {step.id!r}")
        for j, dep in enumerate(step.needs):
            if dep not in ids:
                add(
                    [*base, "needs", j],
                    f"needs: {dep!r} is not an earlier step of this runbook",
                )
        ids.add(step.id)
        check_call(base, step.capability, step.inputs)
        if step.verify is not None:
            v = step.verify
            vb = [*base, "verify"]
            if (v.query is None) == (v.capability is None):
                add(vb, "verify needs exactly one of `query` or `capability`")
            if v.query is not None:
                if v.expect is None:
                    add(vb, "verify.query needs `expect` (a bound such as '< 0.05')")
                for ref in templating.references(v.query):
                    if ref not in names:
                        add([*vb, "query"], f"verify.query: undefined name {ref!r} in template")
                    elif ref in rb.params and rb.params[ref].type not in QUERY_SAFE_TYPES:
                        add(
                            [*vb, "query"],
                            f"verify.query: parameter {ref!r} of type"
                            f" {rb.params[ref].type!r} may not be put in a query",
                        )
            if v.capability is not None:
                check_call(vb, v.capability, v.inputs, read_only=True)
            for fld in ("timeout", "interval"):
                try:
                    wait_duration(getattr(v, fld))
                except ValueError as exc:
                    add([*vb, fld], f"verify.{fld}: {exc}")
        if step.undo is not None:
            ub = [*base, "undo"]
            if step.undo == "auto":
                cap = registry.get(step.capability) if step.capability in registry else None
                if cap is not None and not cap.undo_hint:
                    add(ub, f"undo: auto, but {step.capability} cannot be undone")
            elif isinstance(step.undo, str):
                referenced_undo.add(step.undo)
                if step.undo not in undo_ids:
                    add(ub, f"undo: no undo step {step.undo!r} (define it under undo_steps)")
            else:
                check_call(ub, step.undo.capability, step.undo.inputs)

    for i, s in enumerate(rb.steps):
        check_step("steps", i, s)
    for i, s in enumerate(rb.undo_steps):
        check_step("undo_steps", i, s)
        if s.id not in referenced_undo:
            add(
                ["undo_steps", i, "id"],
                f"undo step {s.id!r} is unreachable: no step's `undo` names it",
            )
        if s.undo is not None:
            add(["undo_steps", i, "undo"], "an undo step cannot have its own undo")
    return out
