"""Secrets: API tokens from the OS keyring, then the environment; and their redaction.

Who reads what:

* connectors ask `get_token(name)` for the token a source names in its config
  (`token_name`); the answer is a `SecretStr` so it cannot end up in a repr, a log
  line or a traceback by accident;
* `aisre auth set/status/delete` write and inspect the keyring entries;
* every error message and log line that could contain a token goes through `redact`,
  which knows every token value this process has loaded (`register_secret`).

Lookup order for a token called NAME:

1. the OS keyring, service `aisre`, user NAME;
2. the insecure file store (`$config_dir/secrets.yaml`, mode 0600), only when the user
   created it explicitly with `aisre auth set NAME --insecure-storage` on a machine
   without a usable keyring;
3. the environment variable `AISRE_<NAME>_TOKEN` (NAME upper-cased, non-alphanumerics
   as `_`), the fallback for CI.

Tokens are never accepted as command-line flags: a flag leaks through shell history
and `ps`. A keyring backend that cannot store anything (the `fail` or `null`
backend, typical on a headless server without a Secret Service) is detected and
`set_token` refuses with an explanation instead of pretending to succeed.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import SecretStr

from aisre_cli.errors import AuthError, ConfigError
from aisre_cli.settings import paths
from aisre_cli.settings.safeyaml import load_yaml

KEYRING_SERVICE = "aisre"
TokenOrigin = Literal["keyring", "file", "env"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")

# ------------------------------------------------------------------ redaction


class _LazyRe:
    """A pattern compiled on first use: importing this module (for a token lookup on
    the triage path) must not pay for a dozen case-insensitive patterns it may never
    run (about 5 ms)."""

    __slots__ = ("_args", "_re")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._re: re.Pattern[str] | None = None

    def _get(self) -> re.Pattern[str]:
        if self._re is None:
            self._re = re.compile(*self._args)
        return self._re

    def sub(self, repl: Any, text: str) -> str:
        return self._get().sub(repl, text)

    def search(self, text: str) -> re.Match[str] | None:
        return self._get().search(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._get().fullmatch(text)


_SECRETS: set[str] = set()
_SECRETS_BY_LENGTH: tuple[str, ...] = ()
_LOCK = threading.Lock()
_QUERY_SECRET = _LazyRe(
    r"(?i)\b((?:access_)?token|api_?key|apikey|password|passwd|secret|signature|sig)"
    r"=([^&\s\"']+)"
)
_AUTH_HEADER = _LazyRe(
    r"(?i)(authorization|x-api-key|private-token)(\"?\s*[:=]\s*\"?)([^\"\s,}]+(?: [^\"\s,}]+)?)"
)
_BEARER = _LazyRe(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})")
_USERINFO = _LazyRe(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s?#\"'<>]+@")
# In captured source data (log lines, change summaries), "basic authentication" is
# prose: a Basic credential is a base64 run with an upper-case letter in it.
_BEARER_STRICT = _LazyRe(
    r"(?i:\b(bearer))\s+([A-Za-z0-9._~+/=-]{8,})|\b(Basic)\s+(?=[A-Za-z0-9+/]*[A-Z])"
    r"(?=[A-Za-z0-9+/]*[a-z0-9])([A-Za-z0-9+/]{8,}={0,2})"
)


# Credentials by name or shape in captured data (log lines, annotations, change
# summaries): a credential parameter with a prefix (`client_secret=`, `private_token=`),
# a quoted `"password": "…"` pair (JSON, or a dict printed in a log line), a token
# header (`X-Auth-Token:`, `Cookie:`), and tokens of a well-known shape (GitHub, GitLab,
# Slack, AWS access key ids, JWTs, PEM private keys). The name stays, so the record still
# says a credential was there.
_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*?(?:secret|token|passw(?:or)?d|api[_-]?key|apikey|credential|signature)"
)
"""A parameter name for a credential: `client_secret`, `private_token`, `db_password`."""
_SECRET_FIELD = (
    r"[A-Za-z0-9_.-]*?(?:passw(?:or)?d|api[_-]?key|apikey|(?:client|app|api|shared|webhook)[_-]?"
    r"secret|secret[_-]?(?:key|value)|access[_-]?key|private[_-]?key|token|authorization|cookie)"
)
"""A field name whose value is a credential. Narrower than `_SECRET_NAME`: a field
`secret` or `credential` names one (`secret="ingress-tls"` on a certificate alert) and
is kept."""
_SECRET_KEY = _LazyRe(rf"(?i){_SECRET_FIELD}")
_NAMED_PARAM = _LazyRe(rf"(?i)(?<![A-Za-z0-9_.-])({_SECRET_NAME})=([^&\s\"'<>]+)")
_QUOTED_PAIR = _LazyRe(rf"""(?i)(["'])({_SECRET_FIELD})\1(\s*:\s*)(["'])(?:\\.|(?!\4)[^\\])+\4""")
_SECRET_HEADER = _LazyRe(
    r"(?i)\b(x-[a-z0-9-]*(?:token|key|secret)|set-cookie|cookie)(\s*:\s*)([^\r\n\"'}]+)"
)
_CREDENTIAL_WORDS = (
    "secret",
    "token",
    "passw",
    "key",
    "credential",
    "signature",
    "authoriz",
    "cookie",
)
"""Every name the three patterns above look for holds one of these (lower case): without
one (most lines) they are not run. Substring tests, not a regex: a case-insensitive
alternation costs more than the rest of this function on a long line."""
_TOKEN_SHAPES = _LazyRe(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,})\b"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_TOKEN_HINT = _LazyRe(r"gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AKIA|ASIA|eyJ|PRIVATE KEY")


def register_secret(value: str | SecretStr | None) -> None:
    """Remember a secret value so `redact` removes it from any text."""
    if value is None:
        return
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    raw = raw.strip()
    if len(raw) >= 4:
        global _SECRETS_BY_LENGTH
        with _LOCK:
            _SECRETS.add(raw)
            _SECRETS_BY_LENGTH = tuple(sorted(_SECRETS, key=len, reverse=True))


def redact(text: str) -> str:
    """Remove known secrets, auth headers, credential query parameters and URL
    userinfo (`https://user:pass@host` -> `https://host`) from text."""
    with _LOCK:
        known = sorted(_SECRETS, key=len, reverse=True)
    for s in known:
        if s in text:
            text = text.replace(s, "***")
    text = _QUERY_SECRET.sub(r"\1=***", text)
    text = _AUTH_HEADER.sub(r"\1\2***", text)
    text = _USERINFO.sub(r"\1", text)
    return _BEARER.sub(r"\1 ***", text)


def redact_captured(text: str) -> str:
    """`redact` for data that came *from* a source (alert annotations, log lines,
    series labels, change summaries): the same rules, with a stricter `Basic`
    credential pattern so prose about basic auth survives, and credentials by name or
    shape (above). Cheap on the common case
    (a short string with none of the trigger characters)."""
    for s in _SECRETS_BY_LENGTH:  # one tuple, replaced whole: no lock needed to read it
        if s in text:
            text = text.replace(s, "***")
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\1=***", text)
    low = text.lower()
    if "authorization" in low or "x-api-key" in low or "private-token" in low:
        text = _AUTH_HEADER.sub(r"\1\2***", text)
    if "@" in text and "://" in text:
        text = _USERINFO.sub(r"\1", text)
    if "bearer" in low or "Basic" in text:
        text = _BEARER_STRICT.sub(_bearer_repl, text)
    if any(w in low for w in _CREDENTIAL_WORDS):
        if "=" in text:
            text = _NAMED_PARAM.sub(r"\1=***", text)
        if ":" in text:
            if '"' in text or "'" in text:
                text = _QUOTED_PAIR.sub(_quoted_repl, text)
            text = _SECRET_HEADER.sub(r"\1\2***", text)
    if _TOKEN_HINT.search(text):
        text = _TOKEN_SHAPES.sub("***", text)
    return text


def _quoted_repl(m: re.Match[str]) -> str:
    return f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}***{m[4]}"


@functools.lru_cache(maxsize=4096)
def names_credential(key: str) -> bool:
    """Does a field name say its value is a credential (`db_password`, `auth_token`)?"""
    return _SECRET_KEY.fullmatch(key) is not None


def _bearer_repl(m: re.Match[str]) -> str:
    return f"{m.group(1)} ***" if m.group(1) else f"{m.group(3)} ***"


def redact_data(obj: Any, *, fields: bool = False) -> Any:
    """`obj` (parsed JSON/YAML) with every string, dict keys included, passed through
    `redact_captured`. Numbers and the structure are kept. With `fields` (what goes
    into a bundle), the text value of a key that names a credential (`password`,
    `auth_token`: `names_credential`) is replaced whole."""
    if isinstance(obj, str):
        return redact_captured(obj) if len(obj) >= 4 else obj
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            key = redact_data(k)
            if fields and isinstance(k, str) and isinstance(v, str) and v and names_credential(k):
                out[key] = "***"
            else:
                out[key] = redact_data(v, fields=fields)
        return out
    if isinstance(obj, list | tuple):
        return [redact_data(v, fields=fields) for v in obj]
    return obj


def strip_userinfo(url: str) -> str:
    """A URL without its `user:password@` part (for anything shown, stored or captured)."""
    return _USERINFO.sub(r"\1", url)


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without userinfo, (user, password) percent-decoded, or None)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport))
    creds = (urllib.parse.unquote(user), urllib.parse.unquote(password))
    register_secret(creds[1])
    register_secret(userinfo)
    return clean, creds


class RedactingFilter(logging.Filter):
    """Scrubs a log record's message with `redact` (installed on the aisre loggers, and
    on every handler by `enable_debug_logging`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a broken format string: let logging report it
            return True
        record.msg = redact(msg)
        record.args = None
        return True


def enable_debug_logging() -> None:
    """`-vv`: debug lines on stderr, every handler scrubbed by `RedactingFilter` (httpx
    and httpcore log URLs at debug level; a token must not ride along). Cheap to call
    from the CLI root: imports nothing heavy."""
    logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


# ------------------------------------------------------------------ names


def is_valid_name(name: str) -> bool:
    """Whether `name` can name a token (keyring user, file key, env var part)."""
    return _NAME.fullmatch(name) is not None


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid token name {name!r}",
            hint="use letters, digits, '.', '_' or '-' (for example `pagerduty`)",
        )
    return name


def env_var(name: str) -> str:
    """`pagerduty` → `AISRE_PAGERDUTY_TOKEN`."""
    return "AISRE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_TOKEN"


def insecure_file() -> Path:
    return paths.config_dir() / "secrets.yaml"


# ------------------------------------------------------------------ keyring


@dataclass(frozen=True, slots=True)
class KeyringInfo:
    usable: bool
    backend: str
    reason: str = ""


_FAIL = "keyring.backends.fail.Keyring"
_NO_BACKEND = "no usable OS keyring backend (no Secret Service / KWallet / macOS Keychain found)"


def _keyring_unreachable() -> KeyringInfo | None:
    """The answer `keyring_info` would give when keyring's own detection can only end
    at its `fail` backend, decided without importing keyring; None when that is not
    certain, and keyring decides.

    Importing keyring and detecting a backend costs 100-190 ms of CPU (its backends
    import secretstorage, jeepney and cryptography before they look for a bus), and a
    triage on a headless host (CI, a container, a jump box) pays it for nothing each
    time it needs a secret. keyring picks its backend in this order (keyring.core):
    `PYTHON_KEYRING_BACKEND`, then `keyringrc.cfg` in its config root, then the best
    viable backend among those its `keyring.backends` entry points register. On Linux
    every backend keyring ships (Secret Service, KWallet, libsecret) needs a D-Bus
    session bus. So the answer is certain only when the environment names the fail or
    null backend, or when, on Linux, there is no config file, no session bus a
    client could reach (`DBUS_SESSION_BUS_ADDRESS`, the `$XDG_RUNTIME_DIR/bus` socket,
    X11 autolaunch through `DISPLAY`) and no third-party backend is installed. Once
    keyring is loaded (someone may have called `keyring.set_keyring`), it decides."""
    if "keyring" in sys.modules:
        return None
    named = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()
    if named == _FAIL:
        return KeyringInfo(False, _FAIL, _NO_BACKEND)
    if named == "keyring.backends.null.Keyring":
        return KeyringInfo(False, named, "the keyring backend is the null backend (stores nothing)")
    if named or not sys.platform.startswith("linux"):
        return None
    config_root = Path(
        os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config", "python_keyring"
    )
    if (config_root / "keyringrc.cfg").exists():
        return None
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("DISPLAY"):
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    if os.path.exists(os.path.join(runtime, "bus")):
        return None
    if _third_party_backends(tuple(sys.path)):
        return None  # keyrings.alt and the like may be viable
    return KeyringInfo(False, _FAIL, _NO_BACKEND)


@functools.cache
def _third_party_backends(path: tuple[str, ...]) -> bool:
    """Whether a distribution other than keyring registers a `keyring.backends` entry
    point on this `sys.path` (scanned once per path: a few ms)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="keyring.backends"):
        dist = getattr(ep, "dist", None)
        if dist is None or dist.name != "keyring":
            return True
    return False


def keyring_info() -> KeyringInfo:
    """Which keyring backend is active and whether it can store secrets."""
    try:
        known = _keyring_unreachable()
    except (OSError, RuntimeError):  # no home directory to look in: let keyring decide
        known = None
    if known is not None:
        return known
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # keyring missing or broken install
        return KeyringInfo(False, "none", f"the keyring module cannot load: {exc}")
    try:
        kr: Any = keyring.get_keyring()
    except Exception as exc:
        return KeyringInfo(False, "none", f"no keyring backend: {exc}")
    name = f"{type(kr).__module__}.{type(kr).__name__}"
    if isinstance(kr, fail.Keyring):
        return KeyringInfo(False, name, _NO_BACKEND)
    if "null" in name.lower():
        return KeyringInfo(False, name, "the keyring backend is the null backend (stores nothing)")
    try:
        priority = float(getattr(kr, "priority", 1))
    except Exception:  # some backends raise when probed on an unsupported system
        return KeyringInfo(False, name, "the keyring backend is not supported on this system")
    if priority <= 0:
        return KeyringInfo(False, name, "the keyring backend reports itself unusable")
    return KeyringInfo(True, name)


def _keyring_get(name: str) -> str | None:
    info = keyring_info()
    if not info.usable:
        return None
    import keyring

    try:
        value: str | None = keyring.get_password(KEYRING_SERVICE, name)
    except Exception:  # a locked or broken keyring must not break a triage
        return None
    return value


# ------------------------------------------------------------------ file store


def _read_file_store() -> dict[str, str]:
    p = insecure_file()
    if not p.exists():
        return {}
    hint = "delete it and store the tokens again with `aisre auth set`"
    try:
        data = load_yaml(p, error=ConfigError, hint=hint) or {}
    except ConfigError as exc:
        raise ConfigError(f"unreadable insecure token store: {exc.message}", hint=hint) from None
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if v is not None}


def _write_file_store(data: dict[str, str]) -> Path:
    p = insecure_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, default_flow_style=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return p


# ------------------------------------------------------------------ public API


def lookup(name: str) -> tuple[SecretStr, TokenOrigin] | None:
    """The token called `name` and where it came from, or None."""
    check_name(name)
    # A blank value (a newline pasted alone, an unset CI secret echoed into the variable)
    # is no token: it must not hide the next place, nor be sent as an empty credential.
    v = (_keyring_get(name) or "").strip()
    origin: TokenOrigin = "keyring"
    if not v:
        v = (_read_file_store().get(name) or "").strip()
        origin = "file"
    if not v:
        v = os.environ.get(env_var(name), "").strip()
        origin = "env"
    if not v:
        return None
    register_secret(v)
    return SecretStr(v), origin


def get_token(name: str) -> SecretStr | None:
    hit = lookup(name)
    return hit[0] if hit else None


def require_token(name: str, source: str) -> SecretStr:
    tok = get_token(name)
    if tok is None:
        raise AuthError(
            f"{source}: no token named {name!r} is stored",
            hint=f"run `aisre auth set {name}` (or set {env_var(name)} in CI)",
        )
    return tok


def set_token(name: str, value: SecretStr, *, insecure_storage: bool = False) -> TokenOrigin:
    """Store a token. Refuses without a usable keyring unless `insecure_storage`."""
    check_name(name)
    raw = value.get_secret_value().strip()
    if not raw:
        raise ConfigError("empty token: nothing stored")
    register_secret(raw)
    if insecure_storage:
        data = _read_file_store()
        data[name] = raw
        _write_file_store(data)
        return "file"
    info = keyring_info()
    if not info.usable:
        raise AuthError(
            f"cannot store the token: {info.reason} (backend: {info.backend})",
            hint=f"install/unlock a Secret Service (gnome-keyring, KWallet), or set {env_var(name)}"
            " in the environment, or accept a plaintext 0600 file with --insecure-storage",
        )
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, name, raw)
    except Exception as exc:
        raise AuthError(
            f"the keyring refused to store {name!r}: {type(exc).__name__}",
            hint="unlock the keyring, or use --insecure-storage as a last resort",
        ) from None
    return "keyring"


def delete_token(name: str) -> list[TokenOrigin]:
    """Delete a token from the keyring and the file store; returns where it was."""
    check_name(name)
    removed: list[TokenOrigin] = []
    if keyring_info().usable:
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            if keyring.get_password(KEYRING_SERVICE, name) is not None:
                keyring.delete_password(KEYRING_SERVICE, name)
                removed.append("keyring")
        except PasswordDeleteError:
            pass
        except Exception as exc:
            raise AuthError(
                f"the keyring refused to delete {name!r}: {type(exc).__name__}"
            ) from None
    data = _read_file_store()
    if name in data:
        del data[name]
        _write_file_store(data)
        removed.append("file")
    return removed


def fingerprint(value: SecretStr) -> str:
    """What `auth status` may show about a token: its length, nothing of its value."""
    return f"{len(value.get_secret_value())} chars"
