"""Values for the parameters a runbook needs and the verdict does not give.

The CLI takes them as `--param NAME=VALUE`; here each gets an input, checked as it is
typed with the same validation `--param` values get (`Backend.check_param`, the core's
`remediate.types.validate_param`). Enter on the last input (or ctrl+s) hands them to
the runbook screen, which plans the run with them exactly as the CLI would; escape
plans nothing. A `ModalScreen[dict | None]`, like `ConfirmScreen`.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Static

from aisre_cli.ui.term import visible

Check = Callable[[str, str], str | None]
"""(parameter, value) → why it is not valid, or None."""


class _Valid(Validator):
    def __init__(self, name: str, check: Check) -> None:
        super().__init__()
        self.name = name
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.failure("needs a value")
        why = self.check(self.name, value.strip())
        return self.success() if why is None else self.failure(why)


class ParamsScreen(ModalScreen[dict[str, str] | None]):
    DEFAULT_CSS = """
    ParamsScreen { align: center middle; }
    #params-box {
        width: 72; max-width: 95%; height: auto; max-height: 95%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    #params-box Input { margin: 0 0 0 0; }
    .params-error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "cancel", id="params.cancel"),
        Binding("ctrl+s", "submit", "plan", id="params.submit"),
    ]

    def __init__(self, runbook_id: str, params: list[tuple[str, str, str]], check: Check) -> None:
        """`params`: (name, type, description) of each parameter to ask for."""
        super().__init__()
        self.runbook_id = runbook_id
        self.params = params
        self.check = check

    def compose(self) -> ComposeResult:
        head = Text(f"runbook {visible(self.runbook_id, oneline=True)}", style="bold")
        head.append(": values the verdict does not give")
        with Vertical(id="params-box"):
            yield Static(head, markup=False)
            for i, (name, type_, desc) in enumerate(self.params):
                label = Text(visible(name, oneline=True), style="bold")
                label.append(f" ({visible(type_, oneline=True)})", style="dim")
                if desc:
                    label.append(f"  {visible(desc, oneline=True)}")
                yield Static(label, markup=False)
                yield Input(
                    id=f"param-{i}",
                    placeholder=name,
                    validators=[_Valid(name, self.check)],
                    validate_on=["changed", "submitted"],
                )
                yield Static("", id=f"param-error-{i}", classes="params-error", markup=False)
            yield Static(Text("enter: plan the run (nothing runs yet) · esc: cancel", "dim"))

    def _inputs(self) -> list[Input]:
        return [self.query_one(f"#param-{i}", Input) for i in range(len(self.params))]

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.input, event.validation_result)

    def _show(self, inp: Input, result: ValidationResult | None) -> None:
        i = self._inputs().index(inp)
        why = "" if result is None or result.is_valid else "; ".join(result.failure_descriptions)
        self.query_one(f"#param-error-{i}", Static).update(Text(visible(why, oneline=True)))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = self._inputs()
        i = inputs.index(event.input)
        if event.validation_result is not None and not event.validation_result.is_valid:
            self._show(event.input, event.validation_result)
            return
        if i + 1 < len(inputs):
            inputs[i + 1].focus()
            return
        self.action_submit()

    def action_submit(self) -> None:
        values: dict[str, str] = {}
        for inp, (name, _, _) in zip(self._inputs(), self.params, strict=True):
            result = inp.validate(inp.value)
            if result is not None and not result.is_valid:
                self._show(inp, result)
                inp.focus()
                return
            values[name] = inp.value.strip()
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)
