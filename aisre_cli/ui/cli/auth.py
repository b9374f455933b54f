"""`aisre auth set|status|delete`: API tokens in the OS keyring.

A token is read from a hidden prompt (or from stdin when it is piped, for scripts:
`pass show pd | aisre auth set pagerduty`), never from a flag. Without a usable
keyring backend `set` refuses and explains the options; `--insecure-storage` writes a
0600 plaintext file instead, with a warning. `status` says where each token is found
and its length, never its value.
"""

from __future__ import annotations

import sys

import typer

from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state

auth_app = typer.Typer(
    name="auth",
    help="Store, check and delete API tokens (OS keyring; AISRE_<NAME>_TOKEN in CI).",
    no_args_is_help=True,
)
app.add_typer(auth_app, name="auth")


@auth_app.command("set")
def set_cmd(
    name: str = typer.Argument(..., help="Token name, e.g. pagerduty, github."),
    insecure_storage: bool = typer.Option(
        False,
        "--insecure-storage",
        help="No keyring here: store in a plaintext file (mode 0600). Not recommended.",
    ),
) -> None:
    """Store the token NAME (asked with a hidden prompt, or read from piped stdin).

    Example: aisre auth set pagerduty
    """
    from pydantic import SecretStr

    from aisre_cli.errors import UsageError
    from aisre_cli.settings.secrets import check_name, insecure_file, keyring_info, set_token

    check_name(name)
    if not insecure_storage:
        info = keyring_info()
        if not info.usable:
            # Refuse before asking for the secret: do not make the user type it for nothing.
            from aisre_cli.errors import AuthError
            from aisre_cli.settings.secrets import env_var

            raise AuthError(
                f"cannot store the token: {info.reason} (backend: {info.backend})",
                hint=f"install/unlock a Secret Service (gnome-keyring, KWallet), or set"
                f" {env_var(name)} in the environment, or accept a plaintext 0600 file with"
                " --insecure-storage",
            )
    if sys.stdin.isatty():
        value = typer.prompt(f"Token for {name}", hide_input=True, confirmation_prompt=False)
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise UsageError("empty token: nothing stored")
    where = set_token(name, SecretStr(value), insecure_storage=insecure_storage)
    del value
    if where == "file":
        typer.echo(
            f"warning: token {name!r} stored in PLAINTEXT at {insecure_file()} (mode 0600);"
            " anyone with your user account can read it",
            err=True,
        )
    else:
        typer.echo(f"stored token {name!r} in the OS keyring", err=True)


@auth_app.command("status")
def status_cmd(
    ctx: typer.Context,
    names: list[str] = typer.Argument(
        None, help="Token names (default: every token the profile uses)."
    ),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Where each token is found (keyring, file, env) and its length; never its value.

    Examples:

      aisre auth status

      aisre auth status pagerduty github --json
    """
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.settings.secrets import env_var, fingerprint, keyring_info, lookup

    wanted = list(names or [])
    if not wanted:
        rp = resolve_profile(state(ctx, profile).profile)
        src = rp.profile.sources
        cfgs: list[object] = [getattr(src, key) for key in type(src).model_fields]
        cfgs += list((src.model_extra or {}).values())  # plugin sources (tempo, jaeger…)
        for cfg in cfgs:  # every source that names a credential
            token_name = (
                cfg.get("token_name") if isinstance(cfg, dict) else getattr(cfg, "token_name", None)
            )
            if isinstance(token_name, str) and token_name and token_name not in wanted:
                wanted.append(token_name)
        if rp.profile.memory_url and rp.profile.memory_password_name not in wanted:
            wanted.append(rp.profile.memory_password_name)  # the team store's password
    info = keyring_info()
    rows = []
    for n in wanted:
        hit = lookup(n)
        rows.append(
            {
                "name": n,
                "stored": hit[1] if hit else "missing",
                "detail": fingerprint(hit[0]) if hit else "",
                "env": env_var(n),
            }
        )
    if json_out:
        import json

        typer.echo(
            json.dumps(
                {
                    "schema": "aisre.auth/v1",
                    "keyring": {
                        "backend": info.backend,
                        "usable": info.usable,
                        "reason": info.reason,
                    },
                    "tokens": rows,
                },
                indent=2,
            )
        )
        return
    from rich.table import Table

    from aisre_cli.ui.term import console

    kr = "usable" if info.usable else f"unusable: {info.reason}"
    console(stderr=True).print(f"[dim]keyring: {info.backend} ({kr})[/]")
    if not rows:
        console(stderr=True).print(
            "[dim]no token is configured in this profile"
            " (`aisre auth status NAME` checks a stored one by name)[/]"
        )
        return
    table = Table("token", "stored in", "detail", "env fallback")
    for r in rows:
        style = "red" if r["stored"] == "missing" else ""
        table.add_row(
            r["name"], f"[{style}]{r['stored']}[/]" if style else r["stored"], r["detail"], r["env"]
        )
    console().print(table)


@auth_app.command("delete")
def delete_cmd(name: str = typer.Argument(..., help="Token name.")) -> None:
    """Delete the token NAME from the keyring (and the insecure file store).

    Exit 2 when no token of that name is stored.

    Example: aisre auth delete pagerduty
    """
    from aisre_cli.errors import UsageError
    from aisre_cli.settings.secrets import delete_token, env_var

    removed = delete_token(name)
    if not removed:
        raise UsageError(
            f"no stored token named {name!r}",
            hint=f"an environment variable {env_var(name)} is not managed by aisre",
        )
    typer.echo(f"deleted token {name!r} from {' and '.join(removed)}", err=True)
