"""`aisre eval`: score triage on a folder of bundles with known root causes.

Progress goes to stderr, tables (or `--json`) to stdout. Below `--min-top1` /
`--min-top3` the command exits with ExitCode.THRESHOLD (7). When bundles could not be
evaluated it lists them on stderr and exits with ExitCode.USAGE (2), unless
`--allow-errors` (they still count as misses). With `--fit` it also
fits the ranking weights, prints leave-one-dataset-out numbers (the headline, with
several folders) beside the within-dataset k-fold ones (thresholds apply to the
headline) and writes `weights.json`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from aisre_cli.errors import ExitCode
from aisre_cli.ui.cli.app import JsonOpt, VerboseOpt, app, state

if TYPE_CHECKING:
    from rich.console import Console

    from aisre_cli.investigate.evaluate import CaseResult, EvalReport, Summary
    from aisre_cli.investigate.fit import FitResult


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    directories: list[Path] = typer.Argument(
        ...,
        help="Folders of bundles, searched recursively; bundles need a truth.yaml. "
        "Several folders are evaluated (and fitted) together, with a summary per folder.",
    ),
    json_out: JsonOpt = False,
    min_top1: float | None = typer.Option(
        None, "--min-top1", min=0.0, max=1.0, help="Exit 7 when top-1 is below this."
    ),
    min_top3: float | None = typer.Option(
        None, "--min-top3", min=0.0, max=1.0, help="Exit 7 when top-3 is below this."
    ),
    fit: bool = typer.Option(
        False, "--fit", help="Fit the weights by k-fold CV; report held-out numbers; save them."
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds for --fit."),
    temperature: bool = typer.Option(
        False,
        "--temperature",
        help="With --fit: also choose a temperature dividing the scores, by the held-out"
        " Brier score of the top hypothesis' confidence.",
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1, help="Worker processes triaging bundles (default: CPUs)."
    ),
    calibrate: list[Path] = typer.Option(
        [],
        "--calibrate",
        help="With --fit --temperature: a folder of bundles of other systems (repeatable),"
        " triaged to help choose the temperature and threshold only: never fitted on, never"
        " scored.",
    ),
    signs: bool = typer.Option(
        False,
        "--signs",
        help="With --fit: keep each weight on the side of its hand-set default (>= 0 or <= 0).",
    ),
    weights: Path | None = typer.Option(
        None, "--weights", exists=True, dir_okay=False, help="Evaluate with this weights.json."
    ),
    weights_out: Path | None = typer.Option(
        None, "--weights-out", dir_okay=False, help="Where --fit writes (default: the engine's)."
    ),
    allow_errors: bool = typer.Option(
        False,
        "--allow-errors",
        help="Exit 0 even when bundles could not be evaluated (they count as misses).",
    ),
    verbose: VerboseOpt = 0,
) -> None:
    """Run triage on every bundle with a truth.yaml and report how well it ranks.

    Reports top-1, top-3, MRR, a per-kind table, escalation on `unknown` cases,
    calibration (ECE and a reliability table), time per bundle, and the service-level
    AC@1/AC@3 of four naive baselines (z-score, topology walk, latest change, alert
    service) beside the engine's.

    Examples:

      aisre eval scenarios/suite --min-top1 0.9

      aisre eval ../shared/datasets/petshop --json

      aisre eval scenarios/suite --fit --folds 5

      aisre eval scenarios/suite ../shared/datasets/petshop --fit

      aisre eval scenarios/suite ../shared/datasets/petshop --fit --temperature \
        --calibrate /tmp/sets/A --calibrate /tmp/sets/B

    With several folders, --fit reports leave-one-dataset-out as the headline: each
    folder is predicted by weights (and λ, temperature, threshold) chosen without it.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from aisre_cli.errors import AisreError, Cancelled
    from aisre_cli.investigate.evaluate import check_roots, check_thresholds, evaluate
    from aisre_cli.investigate.rank import WEIGHTS_FILE, Weights
    from aisre_cli.ui.cli.common import print_json
    from aisre_cli.ui.term import console as term_console
    from aisre_cli.ui.term import markup

    verbosity = max(verbose, state(ctx).verbose)
    _check_fit_flags(
        fit,
        weights_out,
        WEIGHTS_FILE,
        temperature=temperature,
        signs=signs,
        calibrate=calibrate,
        fitted=directories,
    )
    check_roots(directories)
    if calibrate:
        check_roots(calibrate)
    if weights is not None:
        _check_weights_in(weights)
    w = Weights.load(weights) if weights is not None else Weights.load()
    err = term_console(stderr=True)
    # where a Ctrl-C lands, for the one line that says what was stopped
    stage = {"what": "triaging bundles", "done": 0, "total": 0}
    try:
        with Progress(
            TextColumn("[bold]eval[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[dim]{task.description}[/]"),
            console=err,
            transient=True,
            # not a terminal (a log, a pipe): no bar, and no blank line left behind
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("", total=None)

            def tick(done: int, total: int, name: str) -> None:
                stage.update(done=done, total=total)
                # the description is rich markup: a bundle path is outside text
                desc = markup(name[-50:], oneline=True)
                bar.update(task, completed=done, total=total, description=desc)

            report = evaluate(directories, weights=w, progress=tick, keep_features=fit, jobs=jobs)
            calibration: list[CaseResult] = []
            if calibrate:
                stage["what"] = "triaging the calibration bundles"
                cal = evaluate(calibrate, weights=w, progress=tick, keep_features=True, jobs=jobs)
                # a label of their own: a calibration folder named like a dataset is not it
                calibration = [
                    replace(c, dataset=f"calibration/{c.dataset or 'set'}") for c in cal.cases
                ]

        fit_result: FitResult | None = None
        saved: Path | None = None
        if fit:
            from aisre_cli.investigate.fit import (
                DEFAULT_TEMPERATURES,
                cross_validate_fit,
                design_signs,
                save,
            )

            stage["what"] = "fitting the weights"
            try:
                with err.status("fitting weights (leave-one-dataset-out and k-fold)"):
                    fit_result = cross_validate_fit(
                        report.cases,
                        folds=folds,
                        suite=" + ".join(_suite_name(d) for d in directories),
                        signs=design_signs() if signs else None,
                        temperatures=DEFAULT_TEMPERATURES if temperature else (1.0,),
                        calibration=calibration,
                    )
            except AisreError:
                # too few bundles to fit: say which ones failed, or "got 0" is a riddle
                if report.errors:
                    _warn_errors(err, report, allowed=True)
                raise
            stage["what"] = "writing the weights"
            saved = save(fit_result, weights_out)
    except KeyboardInterrupt as exc:  # Ctrl-C (or a `Cancelled` from a gather inside)
        raise Cancelled(_stopped(stage, fit, weights_out or WEIGHTS_FILE)) from exc

    headline = fit_result.headline if fit_result is not None else report.summary
    failures = check_thresholds(headline, min_top1, min_top3)

    if json_out:
        body: dict[str, Any] = report.to_dict()
        if fit_result is not None:
            body["fit"] = fit_result.to_dict()
            body["fit"]["saved_to"] = str(saved)
        body["thresholds"] = {
            "min_top1": min_top1,
            "min_top3": min_top3,
            "applied_to": _applied_to(fit_result),
            "passed": not failures,
            "failures": failures,
        }
        print_json(body)
    else:
        out = term_console()
        _render(out, report, verbosity)
        if fit_result is not None:
            _render_fit(out, fit_result, saved)
    if failures:
        from aisre_cli.errors import AisreError
        from aisre_cli.ui.cli.app import render_error

        render_error(
            AisreError(
                "below threshold: " + "; ".join(failures),
                hint="see the misses above (or --json) for the bundles that failed",
            )
        )
    if report.errors:
        _warn_errors(err, report, allow_errors)
        if not allow_errors:
            raise typer.Exit(code=int(ExitCode.USAGE))
    if failures:
        raise typer.Exit(code=int(ExitCode.THRESHOLD))


def _stopped(stage: dict[str, Any], fit: bool, out: Path) -> str:
    """One line for a Ctrl-C: what was stopped, and what became of the weights file."""
    what = str(stage["what"])
    if what == "triaging bundles" and stage["total"]:
        what += f" ({stage['done']} of {stage['total']} done)"
    if not fit:
        tail = "nothing written"
    elif what == "writing the weights":
        tail = f"{out} holds the old weights or the new ones, never a mix"
    else:
        tail = f"{out} not written"
    return f"eval stopped while {what}; {tail}"


def _check_weights_in(path: Path) -> None:
    """--weights must be a regular file: a FIFO would block the run forever, a device
    such as /dev/zero would be read until memory runs out."""
    from aisre_cli.errors import ConfigError

    if not path.is_file():
        raise ConfigError(
            f"--weights {path}: not a regular file",
            hint="pass a weights.json written by `aisre eval --fit`",
        )


def _check_fit_flags(
    fit: bool,
    weights_out: Path | None,
    default_out: Path,
    *,
    temperature: bool,
    signs: bool,
    calibrate: list[Path] | None = None,
    fitted: list[Path] | None = None,
) -> None:
    """Before any bundle is triaged: flags that only mean something with --fit (silently
    ignored, they would promise a file or a constraint that never comes), and the folder
    --fit writes to (found unwritable only after the fit, the fit would be lost)."""
    import os

    from aisre_cli.errors import UsageError

    if not fit:
        given = [
            f
            for f, on in (
                ("--weights-out", weights_out is not None),
                ("--temperature", temperature),
                ("--signs", signs),
                ("--calibrate", bool(calibrate)),
            )
            if on
        ]
        if given:
            raise UsageError(
                f"{', '.join(given)}: only used with --fit, which was not given",
                hint="add --fit to fit the weights, or leave these options out",
            )
        return
    if calibrate and not temperature:
        raise UsageError(
            "--calibrate: only used with --temperature (it helps choose the temperature)",
            hint="add --temperature, or leave --calibrate out",
        )
    for c in calibrate or ():
        for d in fitted or ():
            a, b = c.resolve(), d.resolve()
            if a == b or a.is_relative_to(b) or b.is_relative_to(a):
                raise UsageError(
                    f"--calibrate {c}: overlaps {d}, a folder being fitted (its bundles"
                    " would choose the temperature they are then scored with)",
                    hint="give --calibrate folders of other systems only",
                )
    out = weights_out or default_out
    folder = out.parent
    hint = "pass --weights-out FILE in a folder you can write"
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(
            f"--fit cannot write {out}: {folder} is not a writable directory", hint=hint
        )
    if (out.exists() or out.is_symlink()) and not out.is_file():
        # the weights are renamed into place: a FIFO or a device (/dev/null, as root)
        # would be replaced by a regular file
        raise UsageError(f"--fit cannot write {out}: not a regular file", hint=hint)
    # os.access answers yes to root even where nothing can be created (/proc, /sys, a
    # read-only mount): try, so the fit is not lost at the very end
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"--fit cannot write {out}: cannot create a file in {folder} ({exc.strerror or exc})",
            hint=hint,
        ) from None
    os.close(fd)
    os.unlink(probe)


def _warn_errors(err: Console, report: EvalReport, allowed: bool) -> None:
    """On stderr: which bundles could not be evaluated and why (one line each)."""
    from aisre_cli.errors import BundleError
    from aisre_cli.ui.cli.app import render_error
    from aisre_cli.ui.term import markup

    bad = report.errors
    n = len(report.cases)
    err.print(
        f"[yellow]warning:[/] {len(bad)} of {n} bundle(s) could not be evaluated"
        " (each counts as a miss):",
        soft_wrap=True,
    )
    for c in bad:
        line = f"  {markup(c.path, oneline=True)}: {markup(c.error or '', oneline=True)}"
        err.print(line, soft_wrap=True)
    if not allowed:
        render_error(
            BundleError(
                f"{len(bad)} bundle(s) could not be evaluated",
                hint="fix them (`aisre bundle validate DIR` lists a bundle's problems),"
                " or pass --allow-errors to score them as misses",
            )
        )


def _applied_to(fr: FitResult | None) -> str:
    if fr is None:
        return "evaluation"
    return "lodo" if fr.lodo is not None else "held_out"


def _suite_name(directory: Path) -> str:
    p = directory.resolve()
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _cell(text: str) -> str:
    """Outside text (a path, a service, a truth kind) for a rich cell or title: controls
    shown as escapes, markup escaped (`[/]` in a folder name must not end a style or
    stop the report), on one line."""
    from aisre_cli.ui.term import markup

    return markup(text, oneline=True)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _summary_table(title: str, s: Summary) -> Any:
    from rich.table import Table

    from aisre_cli.investigate.evaluate import CONFIDENT

    t = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("bundles", f"{s.n}" + (f" ({s.n_errors} errors)" if s.n_errors else ""))
    t.add_row("top-1", _pct(s.top1))
    t.add_row("top-3", _pct(s.top3))
    t.add_row("MRR", _pct(s.mrr))
    t.add_row(
        "unknown escalated",
        f"{_pct(s.unknown_escalated)} (n={s.n_unknown})" if s.n_unknown else "- (no unknown case)",
    )
    t.add_row("false escalation (known)", f"{_pct(s.false_escalation)} (n={s.n_known})")
    t.add_row("decision accuracy", _pct(s.decision_accuracy))
    t.add_row("ECE (top-1 confidence)", _pct(s.ece))
    if s.noise is not None:
        nz = s.noise
        t.add_row(
            "  ECE from sampling alone",
            f"median {nz.median:.3f}, 90% <= {nz.p90:.3f} (p={nz.p_value:.2f})",
        )
        t.add_row("  mean confidence - accuracy", f"{nz.gap:+.3f} (±{nz.gap_se:.3f} if calibrated)")
    t.add_row(
        f"confident-wrong (conf >= {CONFIDENT:g}, not escalated)",
        f"{_pct(s.confident_wrong)} ({s.n_confident_wrong})",
    )
    return t


def _dataset_table(title: str, rows: dict[str, Summary]) -> Any:
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    t.add_column("folder")
    for c in ("n", "top-1", "top-3", "MRR", "unknown esc.", "ECE", "conf-wrong"):
        t.add_column(c, justify="right")
    for name, s in sorted(rows.items()):
        t.add_row(
            _cell(name),
            str(s.n),
            _pct(s.top1),
            _pct(s.top3),
            _pct(s.mrr),
            _pct(s.unknown_escalated),
            _pct(s.ece),
            _pct(s.confident_wrong),
        )
    return t


def _baseline_table(title: str, rows: dict[str, Summary]) -> Any:
    """Service-level AC@1/AC@3 of the engine beside the naive baselines: one row per
    method, one column per folder (narrow enough for an 80-column terminal)."""
    from rich.table import Table

    from aisre_cli.investigate.baselines import NAMES

    cols = {name: s.service for name, s in sorted(rows.items()) if s.service.n}
    t = Table(title=title, title_justify="left")
    t.add_column("method (AC@1/AC@3)")
    for name, sl in cols.items():
        t.add_column(f"{_cell(name)} (n={sl.n})", justify="right", no_wrap=True)
    t.add_row("aisre", *(f"[bold]{sl.top1:.2f}/{sl.top3:.2f}[/]" for sl in cols.values()))
    for k in NAMES:
        cells = []
        for sl in cols.values():
            a1, a3 = sl.baselines[k]
            best = "*" if k == sl.best_baseline else " "
            cells.append(f"{a1:.2f}/{a3:.2f}{best}")
        t.add_row(k, *cells)
    margins = []
    for sl in cols.values():
        m = sl.margin
        style = "green" if m is not None and m > 0 else "red"
        margins.append("-" if m is None else f"[{style}]{m:+.2f}[/] ")
    t.add_row("[dim]margin over the best (*)[/]", *margins)
    return t


BASELINE_CAPTION = (
    "[dim]service-level, over bundles with a known cause; *: the best naive baseline;"
    " margin: aisre's AC@1 minus the best baseline's (docs/eval.md)[/]"
)


def _kind_table(s: Summary) -> Any:
    from rich.table import Table

    t = Table(title="per kind", title_justify="left")
    t.add_column("kind")
    for c in ("n", "top-1", "top-3", "MRR"):
        t.add_column(c, justify="right")
    for k, row in sorted(s.per_kind.items()):
        t.add_row(_cell(k), str(row.n), _pct(row.top1), _pct(row.top3), _pct(row.mrr))
    return t


def _reliability_table(s: Summary) -> Any:
    from rich.table import Table

    t = Table(title=f"reliability (ECE {s.ece:.3f})", title_justify="left")
    for c in ("confidence", "n", "mean conf", "accuracy", "gap"):
        t.add_column(c, justify="right")
    for b in s.buckets:
        if b.n == 0:
            t.add_row(f"{b.lo:.1f}-{b.hi:.1f}", "0", "", "", "")
            continue
        t.add_row(
            f"{b.lo:.1f}-{b.hi:.1f}",
            str(b.n),
            f"{b.confidence:.3f}",
            f"{b.accuracy:.3f}",
            f"{b.accuracy - b.confidence:+.3f}",
        )
    return t


def _case_label(c: CaseResult) -> tuple[str, str]:
    truth = "?"
    if c.truth is not None:
        truth = f"{c.truth.kind} {c.truth.service}"
        if c.truth.change_id:
            truth += f" ({c.truth.change_id})"
        if c.truth.service_only:
            truth += " [service]"
    top = "-"
    if c.top is not None:
        svc, kind, subject = c.top
        top = f"{kind} {svc}" + (f" ({subject})" if subject and subject != svc else "")
    if c.escalate:
        top += " → escalate"
    return truth, top


def _render(out: Console, report: EvalReport, verbose: int) -> None:
    from rich.table import Table

    s = report.summary
    out.print(_summary_table(f"aisre eval {_cell(report.root)}", s))
    out.print(
        f"[dim]time per bundle: mean {s.time_mean_s * 1000:.0f} ms, "
        f"p95 {s.time_p95_s * 1000:.0f} ms, max {s.time_max_s * 1000:.0f} ms; "
        f"total {report.elapsed_s:.1f}s"
        + (f"; {len(report.skipped)} bundles without truth.yaml skipped" if report.skipped else "")
        + "[/]"
    )
    if report.by_dataset:
        out.print(_dataset_table("per folder", report.by_dataset))
    rows = report.by_dataset or {"all": s}
    out.print(_baseline_table("against naive baselines", rows))
    out.print(BASELINE_CAPTION)
    out.print(_kind_table(s))
    out.print(_reliability_table(s))
    misses = [c for c in report.cases if c.error is None and not c.top1]
    if misses:
        limit = None if verbose else 15
        # the bundles share a long folder prefix: show it once in the title, so the
        # column holds what tells the cases apart (and is never cut to the prefix)
        import os.path

        try:
            common = os.path.commonpath([c.path for c in misses]) if len(misses) > 1 else ""
        except ValueError:  # absolute and relative paths mixed
            common = ""
        if common and common in (m.path for m in misses):
            common = os.path.dirname(common)
        title = f"misses ({len(misses)})" + (f" under {common}/" if common else "")

        from rich.cells import cell_len

        from aisre_cli.ui.term import visible

        shown: list[tuple[str, str, str, str, float]] = []
        for c in misses[:limit]:
            truth, top = _case_label(c)
            name = os.path.relpath(c.path, common) if common else c.path
            shown.append((name, truth, str(c.rank) if c.rank else "-", top, c.confidence))
        # borders and padding 16, rank and conf 4 each, truth and hypothesis 19 each
        if max(cell_len(visible(r[0], oneline=True)) for r in shown) + 62 <= out.width:
            t = Table(title=_cell(title), title_justify="left")
            for col in ("bundle", "truth", "rank", "top hypothesis", "conf"):
                t.add_column(
                    col,
                    justify="right" if col in ("rank", "conf") else "left",
                    overflow="fold",
                    no_wrap=col in ("bundle", "rank", "conf"),  # a case name is never cut
                    min_width=19 if col in ("truth", "top hypothesis") else None,
                )
            for name, truth, rank, top, conf in shown:
                t.add_row(_cell(name), _cell(truth), rank, _cell(top), f"{conf:.2f}")
            out.print(t)
        else:
            # too narrow for a table that keeps each case name whole on one line (to be
            # copied) and the truth and hypothesis readable: a block per case instead
            out.print(f"[bold]{_cell(title)}[/]")
            for name, truth, rank, top, conf in shown:
                out.print(f"[bold]{_cell(name)}[/]", soft_wrap=True)
                ranked = "not ranked" if rank == "-" else f"ranked {rank}"
                out.print(f"    truth: {_cell(truth)} ({ranked})")
                out.print(f"    top:   {_cell(top)} (confidence {conf:.2f})")
        if limit is not None and len(misses) > limit:
            out.print(f"[dim]… {len(misses) - limit} more (-v shows all, --json has every case)[/]")
    if report.errors:
        t = Table(title=f"errors ({len(report.errors)})", title_justify="left")
        t.add_column("bundle", no_wrap=True)  # whole, to be copied
        t.add_column("error", overflow="fold")
        for c in report.errors:
            t.add_row(_cell(c.path), _cell(c.error or ""))
        out.print(t)


def _render_fit(out: Console, fr: FitResult, saved: Path | None) -> None:
    from rich.table import Table

    if fr.lodo is not None:
        lo = fr.lodo
        out.print()
        out.print(
            _summary_table("leave-one-dataset-out (headline: each folder unseen)", lo.held_out)
        )
        t = Table(title="leave-one-dataset-out per folder", title_justify="left")
        show_t = any(lf.temperature != 1.0 for lf in lo.folds)
        cols = ["held out", "n", "top-1", "top-3", "ECE", "noise", "conf-wrong"]
        cols += ["unk. esc.", "λ"]
        cols += ["T"] * show_t + ["esc. below"]
        for c in cols:
            t.add_column(c, justify="left" if c == "held out" else "right")
        for lf in lo.folds:
            s = lf.summary
            row = [
                _cell(lf.dataset),
                str(s.n),
                _pct(s.top1),
                _pct(s.top3),
                _pct(s.ece),
                _pct(s.noise.p90 if s.noise is not None else None),
                _pct(s.confident_wrong),
                _pct(s.unknown_escalated),
                f"{lf.l2:g}",
            ]
            row += [f"{lf.temperature:g}"] * show_t + [f"{lf.escalate_below:.3f}"]
            t.add_row(*row)
        out.print(t)
        out.print(
            "[dim]noise: the ECE a perfectly calibrated engine with the same confidences"
            " stays under 9 times in 10 on that many bundles (docs/eval.md)[/]"
        )
        for lf in lo.folds:
            out.print(f"[dim]{_cell(lf.dataset)}: λ/threshold chosen by {_cell(lf.inner)}[/]")
        out.print(
            _baseline_table(
                "leave-one-dataset-out against naive baselines",
                {lf.dataset: lf.summary for lf in lo.folds},
            )
        )
        out.print(BASELINE_CAPTION)
    k = len(fr.folds)
    out.print()
    title = f"within-dataset held-out ({k}-fold cross-validation, nested λ/T/threshold)"
    out.print(_summary_table(title, fr.held_out))
    t = Table(title="folds", title_justify="left")
    for c in ("fold", "n", "λ", "T", "escalate below", "top-1", "top-3"):
        t.add_column(c, justify="right")
    for f in fr.folds:
        t.add_row(
            str(f.fold),
            str(f.n),
            f"{f.l2:g}",
            f"{f.temperature:g}",
            f"{f.escalate_below:.3f}",
            _pct(f.top1),
            _pct(f.top3),
        )
    out.print(t)
    if fr.held_out_by_dataset:
        out.print(_dataset_table("within-dataset held-out per folder", fr.held_out_by_dataset))
    out.print(_kind_table(fr.held_out))
    out.print(_reliability_table(fr.held_out))
    w = fr.weights
    wt = Table(title="fitted weights (all bundles)", title_justify="left")
    wt.add_column("feature")
    wt.add_column("weight", justify="right")
    for name, v in sorted(w.w.items(), key=lambda kv: -abs(kv[1])):
        wt.add_row(name, f"{v:+.3f}")
    wt.add_row("[dim]null score[/]", f"{w.null_score:+.3f}")
    wt.add_row("[dim]escalate below[/]", f"{w.escalate_below:.3f}")
    out.print(wt)
    tr = fr.training
    out.print(
        f"[dim]shipped λ={fr.l2:g}, temperature {fr.temperature:g} (folded into the weights), "
        f"threshold: chosen by {_cell(fr.selection)}[/]"
    )
    out.print(
        f"[dim]in-sample (not the claim): top-1 {tr.top1:.3f}, top-3 {tr.top3:.3f}, "
        f"ECE {tr.ece:.3f}[/]"
    )
    if saved is not None:
        out.print(f"wrote {_cell(str(saved))}")
