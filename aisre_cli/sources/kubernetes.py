"""Kubernetes: pod states and Warning events (EventSource), rollouts, config updates and
HPA scaling (ChangeSource), read from the API server of one kubeconfig context.

**Client.** Plain httpx through `sources/http.py` plus our own kubeconfig reader, not
the official `kubernetes` package (hundreds of modules, ~1 s to import, its own
retry/timeout model), `kr8s` (httpx-based but async-first, with its own config
loader and a thread per sync call) or `lightkube` (a second client stack). What
this source reads is a dozen GET endpoints; going through `Http` gives it the same
deadline, retry, size-cap, redaction and credential-scoping rules as every other
source, and the fault matrix covers it for free. The module (stdlib plus httpx, which
every live source already loads) is imported with the source table when live sources
are built, never by `aisre --help` or a bundle run.

**kubeconfig.** `sources.kubernetes.kubeconfig`, else `$KUBECONFIG` (a `:`-separated
list, merged as kubectl does: the first file that names an entry wins), else
`~/.kube/config`. The context is `sources.kubernetes.context`, else the profile's
`kube_context`, else the file's `current-context`; the namespace is
`sources.kubernetes.namespace`, else the profile's `namespace`, else the context's,
else `default`. Supported: `certificate-authority(-data)`,
`insecure-skip-tls-verify` (logged as a warning), user `token`, `tokenFile`,
`client-certificate(-data)`/`client-key(-data)`, and `exec` credential plugins
(`client.authentication.k8s.io/v1` and `v1beta1` ExecCredential; run with a timeout,
never interactively; the credential is cached, per plugin command, until its
`expirationTimestamp`, and re-run once after a 401). `token_name` takes the bearer
token from the keyring instead (`aisre auth set NAME`). Like kubectl, credentials
are sent only over https. A token is registered with the redactor as soon as it is
read: no message, log line or query shows it. Whitespace around a token (kubeconfig,
`tokenFile`, exec plugin) is dropped, as kubectl does; a token that still holds a
character no HTTP header may carry is a one-line `AuthError` naming where it came
from, before any request (not a retried transport error).

**Reads, per service** (a pod's service is the value of the first of
`selector_labels` it carries: `app.kubernetes.io/name`, then `app`):

* pods: container restarts, last termination (`OOMKilled`, `Error` with exit code
  137/143, ...), waiting reasons (`CrashLoopBackOff`, `ImagePullBackOff`,
  `CreateContainerConfigError`, ...), `Evicted`, unschedulable and not-ready pods;
* Warning events of the namespace in the window (`BackOff`, `Unhealthy`,
  `FailedScheduling`, `FailedMount`, `Evicted`, `OOMKilling`, ...), tied to a service
  through the pod, ReplicaSet, Deployment, HPA or node they are about;
* conditions of the nodes the service's pods run on (`NodeMemoryPressure`,
  `NodeDiskPressure`, `NodePIDPressure`, `NodeNotReady`);
* HPAs at their maximum (`HPAAtMaxReplicas`) and their scaling (`scale` changes);
* Deployment revisions (their ReplicaSets) as `deploy` changes: image old → new, or
  which part of the pod template changed; time from the ReplicaSet, author from
  `managedFields`, cause from `kubernetes.io/change-cause`;
* ConfigMaps and Secrets the pod template references (env, envFrom, volumes) updated
  in the window, as `config` changes: names and times only, read as metadata
  (`PartialObjectMetadataList`), so Secret data is never requested (and dropped on
  the spot if a proxy sends it anyway).

Every list is paginated (`limit`/`continue`); an expired continue token (410 Gone)
restarts that list once from the beginning, and says so in a note; a later page
that fails (an etcd timeout, the time budget) keeps what the earlier pages answered,
with a note. Inside a gather, a fetch ends before the gather's own deadline
(`tracing.GATHER_DEADLINE`), so a hung list costs only that list. Each event and
change carries the `kubectl --context C -n NS ...` line that shows it. A 403 on a
secondary read (nodes, HPAs, Secrets) is a partial note; on the primary one it is an
`AuthError` naming the missing permission.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from aisre_cli.errors import AisreError, AuthError, ConfigError, SourceError
from aisre_cli.model import Change, Event, SourceNote
from aisre_cli.settings.config import HttpSettings, validation_message
from aisre_cli.settings.safeyaml import load_yaml
from aisre_cli.settings.secrets import redact, register_secret
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import Health, Http, Response, ResponseTooLarge, ssl_context
from aisre_cli.sources.querylog import QueryStat, record
from aisre_cli.sources.tracing import GATHER_DEADLINE, Clock

log = logging.getLogger("aisre.kubernetes")

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
EXEC_APIS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
WAITING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "RunContainerError",
        "ErrImageNeverPull",
    }
)
NODE_PRESSURE = {
    "MemoryPressure": "NodeMemoryPressure",
    "DiskPressure": "NodeDiskPressure",
    "PIDPressure": "NodePIDPressure",
}
SIGNALS = {137: "SIGKILL", 143: "SIGTERM", 139: "SIGSEGV", 134: "SIGABRT"}
MAX_NODES = 20
MAX_EVENT_COUNT = 2**31 - 1
"""An event's `count` is an int32 in the API; anything larger is clamped to this."""
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*")
"""A bearer token that can be sent: printable ASCII, inner blanks at most (RFC 9110
field-value without obs-text; httpx encodes header values as ASCII)."""
_OK = (200, 400, 401, 403, 404, 410, 422, 500)
"""Statuses answered to the caller (parsed as a `Status`); 429/502/503/504 are retried
by `Http` first."""


# ---------------------------------------------------------------- configuration


class KubernetesSource(BaseModel):
    """A Kubernetes API server, through one kubeconfig context."""

    model_config = ConfigDict(extra="forbid")

    kubeconfig: str | None = None
    """kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)."""
    context: str | None = None
    """kubeconfig context (default: the profile's kube_context, then current-context)."""
    namespace: str | None = None
    """Namespace to read (default: the profile's namespace, then the context's, then
    `default`)."""
    selector_labels: list[str] = Field(
        default_factory=lambda: ["app.kubernetes.io/name", "app"], min_length=1
    )
    """Pod labels that name the service, first match wins."""
    token_name: str | None = None
    """Take the bearer token from the keyring (`aisre auth set NAME`) instead of the
    kubeconfig user."""
    secrets: bool = True
    """Report updates of referenced Secrets (reads their metadata only; needs `list`
    on secrets)."""
    page_size: int = Field(default=500, ge=1, le=5000)
    """`limit` of each list request."""
    max_pages: int = Field(default=20, ge=1)
    """Pages read per list before it is cut short (with a note)."""
    exec_timeout_s: float = Field(default=10.0, gt=0)
    """Longest an exec credential plugin may run."""
    http: HttpSettings = Field(default_factory=HttpSettings)


class _K(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class KubeCluster(_K):
    server: str
    certificate_authority: str | None = Field(default=None, alias="certificate-authority")
    certificate_authority_data: str | None = Field(default=None, alias="certificate-authority-data")
    insecure_skip_tls_verify: bool = Field(default=False, alias="insecure-skip-tls-verify")


class ExecEnvVar(_K):
    name: str
    value: str


class ExecConfig(_K):
    api_version: str = Field(alias="apiVersion")
    command: str
    args: list[str] = Field(default_factory=list)
    env: list[ExecEnvVar] | None = None
    install_hint: str | None = Field(default=None, alias="installHint")
    provide_cluster_info: bool = Field(default=False, alias="provideClusterInfo")
    interactive_mode: str | None = Field(default=None, alias="interactiveMode")


class KubeUser(_K):
    token: str | None = None
    token_file: str | None = Field(default=None, alias="tokenFile")
    client_certificate: str | None = Field(default=None, alias="client-certificate")
    client_certificate_data: str | None = Field(default=None, alias="client-certificate-data")
    client_key: str | None = Field(default=None, alias="client-key")
    client_key_data: str | None = Field(default=None, alias="client-key-data")
    exec_: ExecConfig | None = Field(default=None, alias="exec")
    auth_provider: dict[str, Any] | None = Field(default=None, alias="auth-provider")
    username: str | None = None


class KubeContext(_K):
    cluster: str
    user: str = ""
    namespace: str | None = None


class _NamedCluster(_K):
    name: str
    cluster: KubeCluster


class _NamedUser(_K):
    name: str
    user: KubeUser = Field(default_factory=KubeUser)


class _NamedContext(_K):
    name: str
    context: KubeContext


class KubeconfigFile(_K):
    clusters: list[_NamedCluster] | None = None
    users: list[_NamedUser] | None = None
    contexts: list[_NamedContext] | None = None
    current_context: str | None = Field(default=None, alias="current-context")


@dataclass(slots=True)
class Target:
    """One resolved context: where to connect, as whom, in which namespace."""

    context: str
    namespace: str
    cluster: KubeCluster
    user: KubeUser
    cluster_dir: Path
    user_dir: Path
    files: list[Path]


def kubeconfig_paths(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    listed = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    if listed:
        return listed
    return [Path("~/.kube/config").expanduser()]


def resolve_target(
    paths: Sequence[Path], context: str | None, namespace: str | None, source: str = "kubernetes"
) -> Target:
    """Merge the kubeconfig files (first definition of a name wins, as in kubectl) and
    pick the context. Raises ConfigError with a one-line reason."""
    clusters: dict[str, tuple[KubeCluster, Path]] = {}
    users: dict[str, tuple[KubeUser, Path]] = {}
    contexts: dict[str, KubeContext] = {}
    current: str | None = None
    found: list[Path] = []
    for p in paths:
        if not p.exists():
            continue
        found.append(p)
        raw = load_yaml(p, error=ConfigError, hint="fix the kubeconfig (kubectl config view)")
        if raw is None:
            continue
        try:
            kc = KubeconfigFile.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(
                f"{source}: {p}: not a kubeconfig: {validation_message(exc)}",
                hint="check it with `kubectl config view`",
            ) from None
        base = p.resolve().parent
        for c in kc.clusters or []:
            clusters.setdefault(c.name, (c.cluster, base))
        for u in kc.users or []:
            users.setdefault(u.name, (u.user, base))
        for x in kc.contexts or []:
            contexts.setdefault(x.name, x.context)
        current = current or kc.current_context or None
    if not found:
        shown = os.pathsep.join(str(p) for p in paths)
        raise ConfigError(
            f"{source}: no kubeconfig at {shown}",
            hint="set sources.kubernetes.kubeconfig or KUBECONFIG to the cluster's kubeconfig",
        )
    name = context or current
    if not name:
        raise ConfigError(
            f"{source}: no context: none configured and the kubeconfig has no current-context",
            hint="set the profile's kube_context (`aisre config init --kube-context NAME`)"
            " or sources.kubernetes.context",
        )
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise ConfigError(
            f"{source}: context {name!r} is not in the kubeconfig (known: {known})",
            hint="list them with `kubectl config get-contexts`",
        )
    ctx = contexts[name]
    if ctx.cluster not in clusters:
        raise ConfigError(
            f"{source}: context {name!r} names cluster {ctx.cluster!r}, which the kubeconfig"
            " does not define",
            hint="fix the kubeconfig (kubectl config view)",
        )
    cluster, cdir = clusters[ctx.cluster]
    user, udir = users.get(ctx.user, (KubeUser(), cdir))
    return Target(
        context=name,
        namespace=namespace or ctx.namespace or "default",
        cluster=cluster,
        user=user,
        cluster_dir=cdir,
        user_dir=udir,
        files=found,
    )


# ---------------------------------------------------------------- credentials


@dataclass(slots=True)
class Credential:
    token: SecretStr | None = None
    cert_pem: str | None = None
    key_pem: str | None = None
    expires: float | None = None
    """Unix time after which the credential must be fetched again (None: never)."""
    origin: str = "kubeconfig"
    """kubeconfig | token-file | exec | keyring | none"""

    def fresh(self) -> bool:
        return self.expires is None or _now() < self.expires - 10.0


def _now() -> float:
    """The wall clock (a function so tests can move it)."""
    return time.time()


_EXEC_CACHE: dict[str, Credential] = {}
_EXEC_LOCK = threading.Lock()


def _exec_key(cfg: ExecConfig) -> str:
    env = [(e.name, e.value) for e in cfg.env or []]
    raw = json.dumps([cfg.api_version, cfg.command, cfg.args, env], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def forget_exec_credentials() -> None:
    """Drop every cached exec credential (after a 401, and in tests)."""
    with _EXEC_LOCK:
        _EXEC_CACHE.clear()


def exec_credential(
    cfg: ExecConfig,
    base_dir: Path,
    cluster: KubeCluster,
    *,
    timeout_s: float,
    source: str = "kubernetes",
    refresh: bool = False,
) -> Credential:
    """Run an exec credential plugin (or reuse its unexpired answer)."""
    key = _exec_key(cfg)
    with _EXEC_LOCK:
        cached = _EXEC_CACHE.get(key)
        if cached is not None and cached.fresh() and not refresh:
            return cached
        cred = _run_exec(cfg, base_dir, cluster, timeout_s, source)
        _EXEC_CACHE[key] = cred
        return cred


def _run_exec(
    cfg: ExecConfig, base_dir: Path, cluster: KubeCluster, timeout_s: float, source: str
) -> Credential:
    plugin = Path(cfg.command).name
    hint = cfg.install_hint.strip().splitlines()[0] if cfg.install_hint else None
    if cfg.api_version not in EXEC_APIS:
        raise ConfigError(
            f"{source}: exec plugin {plugin!r}: apiVersion {cfg.api_version!r} is not supported"
            f" (use {' or '.join(EXEC_APIS)})",
            hint="client.authentication.k8s.io/v1alpha1 was removed in Kubernetes 1.24",
        )
    if cfg.interactive_mode == "Always":
        raise AuthError(
            f"{source}: exec plugin {plugin!r} needs an interactive terminal (interactiveMode:"
            " Always)",
            hint=f"log in once with `kubectl` in a terminal, or use a plugin that can run"
            f" unattended{'; ' + hint if hint else ''}",
        )
    cmd = cfg.command
    if os.sep in cmd and not os.path.isabs(cmd):
        cmd = str(base_dir / cmd)  # relative to the kubeconfig, as kubectl resolves it
    exe = shutil.which(cmd)
    if exe is None:
        raise AuthError(
            f"{source}: exec credential plugin {cfg.command!r} is not installed or not executable",
            hint=hint or "install it, or fix users[].user.exec.command in the kubeconfig",
        )
    spec: dict[str, Any] = {"interactive": False}
    if cfg.provide_cluster_info:
        spec["cluster"] = {
            "server": cluster.server,
            "insecure-skip-tls-verify": cluster.insecure_skip_tls_verify,
            **(
                {"certificate-authority-data": cluster.certificate_authority_data}
                if cluster.certificate_authority_data
                else {}
            ),
        }
    env = dict(os.environ)
    env.update({e.name: e.value for e in cfg.env or []})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": cfg.api_version, "kind": "ExecCredential", "spec": spec}
    )
    try:
        proc = subprocess.Popen(
            [exe, *cfg.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout ends its children too
        )
    except OSError as exc:
        raise AuthError(
            f"{source}: cannot run exec credential plugin {plugin!r}: {exc.strerror}",
            hint=hint or "check users[].user.exec.command in the kubeconfig",
        ) from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        raise AuthError(
            f"{source}: exec credential plugin {plugin!r} did not answer within {timeout_s:g}s",
            hint="is it waiting for a browser login? run the kubectl command once by hand",
        ) from None
    if proc.returncode != 0:
        err = redact(stderr.decode("utf-8", "replace").strip())
        first = err.splitlines()[0][:200] if err else "no message"
        raise AuthError(
            f"{source}: exec credential plugin {plugin!r} failed (exit {proc.returncode}): {first}",
            hint=hint or "run the plugin by hand to see why (is the login expired?)",
        )
    try:
        out = json.loads(stdout)
    except ValueError:
        raise AuthError(
            f"{source}: exec credential plugin {plugin!r} printed no ExecCredential JSON",
            hint="check the plugin's version and arguments",
        ) from None
    if not isinstance(out, dict) or out.get("kind") != "ExecCredential":
        raise AuthError(f"{source}: exec credential plugin {plugin!r}: not an ExecCredential")
    if out.get("apiVersion") != cfg.api_version:
        raise AuthError(
            f"{source}: exec credential plugin {plugin!r} answered {out.get('apiVersion')!r},"
            f" the kubeconfig asked for {cfg.api_version!r}",
            hint="set users[].user.exec.apiVersion to what the plugin speaks",
        )
    st = out.get("status") or {}
    token = st.get("token") if isinstance(st, dict) else None
    if isinstance(token, str):
        token = token.strip()  # a trailing newline is not part of the token
    cert = st.get("clientCertificateData") if isinstance(st, dict) else None
    key = st.get("clientKeyData") if isinstance(st, dict) else None
    if not token and not (cert and key):
        raise AuthError(
            f"{source}: exec credential plugin {plugin!r} returned neither a token nor a"
            " client certificate",
        )
    expires = None
    exp = st.get("expirationTimestamp")
    if isinstance(exp, str) and exp:
        ts = _ts(exp)
        if ts is None:
            raise AuthError(f"{source}: exec plugin {plugin!r}: bad expirationTimestamp {exp!r}")
        expires = ts
    if token:
        register_secret(str(token))
    if key:
        register_secret(str(key))
    return Credential(
        token=SecretStr(str(token)) if token else None,
        cert_pem=str(cert) if cert and key else None,
        key_pem=str(key) if cert and key else None,
        expires=expires,
        origin="exec",
    )


def _b64(data: str, what: str, source: str) -> bytes:
    try:
        return base64.b64decode(data, validate=False)
    except ValueError:
        raise ConfigError(f"{source}: kubeconfig {what} is not base64") from None


def _read(path: str, base: Path, what: str, source: str) -> bytes:
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = base / p
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{source}: cannot read the kubeconfig's {what} {p}: {exc.strerror}",
            hint="fix the path in the kubeconfig",
        ) from None


# ---------------------------------------------------------------- small helpers


def _ts(value: Any) -> float | None:
    """RFC 3339 (`2024-05-01T10:00:00Z`, with or without fraction) to unix seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _d(obj: Any, *path: str) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    raw = _d(obj, "metadata", "labels")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _name(obj: dict[str, Any]) -> str:
    return str(_d(obj, "metadata", "name") or "")


def _obj(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _int(x: Any) -> int:
    """A count from an object (`restartCount`): an int, a numeric string, else 0."""
    if isinstance(x, bool):
        return 0
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().lstrip("-").isdigit():
        return int(x.strip())
    return 0


def _count(x: Any) -> int | None:
    """An event's `count` (or `series.count`): an int, a float (a JSON number beyond 64
    bits arrives as one) or a numeric string, clamped to MAX_EVENT_COUNT; None for a
    missing, zero, negative, non-finite or non-numeric value."""
    v: int | float
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        return None
    if isinstance(x, str):
        t = x.strip()
        if not t.isascii():
            return None
        if t.isdigit():
            v = int(t) if len(t) <= 18 else MAX_EVENT_COUNT
        else:
            try:
                v = float(t)
            except ValueError:
                return None
    else:
        v = x
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v < 1:
        return None
    return MAX_EVENT_COUNT if v >= MAX_EVENT_COUNT else int(v)


_T = TypeVar("_T")
_R = TypeVar("_R")


def _kind_name(kind: str) -> Callable[[dict[str, Any]], str]:
    return lambda obj: f"{kind}/{_name(obj)}"


_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, OverflowError, IndexError)
"""What reading one object of an unexpected shape (a proxy, a CRD-mangled field) can
raise: that object is skipped with a note, never the whole source."""


def _list_of(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _images(template: Any) -> list[tuple[str, str]]:
    return [
        (str(c.get("name", "")), str(c.get("image", "")))
        for c in _list_of(_d(template, "spec", "containers"))
        if isinstance(c, dict)
    ]


def _image_text(images: list[tuple[str, str]]) -> str:
    if len(images) == 1:
        return images[0][1]
    return ", ".join(f"{n}={i}" for n, i in images)


def _template_diff(old: Any, new: Any) -> list[str]:
    """Which parts of the pod template changed (`containers[app].env`, `volumes`)."""
    out: list[str] = []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return out

    def labels(t: Any) -> dict[str, Any]:
        lab = dict(_d(t, "metadata", "labels") or {})
        lab.pop("pod-template-hash", None)
        return lab

    if labels(old) != labels(new):
        out.append("labels")
    if (_d(old, "metadata", "annotations") or {}) != (_d(new, "metadata", "annotations") or {}):
        out.append("annotations")
    os_, ns_ = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    oc = {c.get("name"): c for c in _list_of(os_.pop("containers", None)) if isinstance(c, dict)}
    nc = {c.get("name"): c for c in _list_of(ns_.pop("containers", None)) if isinstance(c, dict)}
    for name in sorted(set(oc) | set(nc), key=str):
        a, b = oc.get(name), nc.get(name)
        if a is None or b is None:
            out.append(f"containers[{name}] {'added' if a is None else 'removed'}")
            continue
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                out.append(f"containers[{name}].{k}")
    for k in sorted(set(os_) | set(ns_)):
        if os_.get(k) != ns_.get(k):
            out.append(k)
    return out


def _refs(template: Any) -> tuple[set[str], set[str]]:
    """ConfigMap and Secret names a pod template references (env, envFrom, volumes)."""
    cms: set[str] = set()
    secrets: set[str] = set()
    spec = _d(template, "spec") or {}
    containers = [
        *_list_of(spec.get("containers")),
        *_list_of(spec.get("initContainers")),
    ]
    for c in containers:
        if not isinstance(c, dict):
            continue
        for e in _list_of(c.get("env")):
            if n := _d(e, "valueFrom", "configMapKeyRef", "name"):
                cms.add(str(n))
            if n := _d(e, "valueFrom", "secretKeyRef", "name"):
                secrets.add(str(n))
        for e in _list_of(c.get("envFrom")):
            if n := _d(e, "configMapRef", "name"):
                cms.add(str(n))
            if n := _d(e, "secretRef", "name"):
                secrets.add(str(n))
    for v in _list_of(spec.get("volumes")):
        if n := _d(v, "configMap", "name"):
            cms.add(str(n))
        if n := _d(v, "secret", "secretName"):
            secrets.add(str(n))
        for s in _list_of(_d(v, "projected", "sources")):
            if n := _d(s, "configMap", "name"):
                cms.add(str(n))
            if n := _d(s, "secret", "name"):
                secrets.add(str(n))
    return cms, secrets


def _managers(obj: dict[str, Any]) -> list[tuple[float, str, dict[str, Any]]]:
    """(time, manager, fieldsV1) of each managedFields entry of the main resource."""
    out: list[tuple[float, str, dict[str, Any]]] = []
    for m in _list_of(_d(obj, "metadata", "managedFields")):
        if not isinstance(m, dict) or m.get("subresource"):
            continue
        t = _ts(m.get("time"))
        if t is not None:
            fields = m.get("fieldsV1")
            out.append(
                (t, str(m.get("manager") or "?"), fields if isinstance(fields, dict) else {})
            )
    return out


def _updated(obj: dict[str, Any]) -> tuple[float | None, str | None]:
    """When (and by which manager) the object was last written, from managedFields;
    else its creation."""
    ms = _managers(obj)
    if ms:
        t, who, _ = max(ms, key=lambda m: m[0])
        return t, who
    return _ts(_d(obj, "metadata", "creationTimestamp")), None


MIN_PAGE_SIZE = 10
"""The smallest page a list falls back to when pages are above the body cap."""


def _deadline(budget_s: float) -> float:
    """The monotonic time by which one fetch must be over: the source's budget, or
    inside a gather the trace sources' `Clock` (a share of what the gather has left),
    so the partial answer (pods read, a hung list noted) arrives before the gather stops
    waiting and drops everything (`tracing.GATHER_DEADLINE`)."""
    if GATHER_DEADLINE.get() is None:
        return time.monotonic() + budget_s
    return Clock.start(budget_s).hard


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Status:
    """The `kind: Status` error body of a failed request (or the start of a raw body)."""

    def __init__(self, resp: Response) -> None:
        self.code = resp.status
        self.reason = ""
        self.message = ""
        try:
            body = json.loads(resp.body[:100_000])
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("kind") == "Status":
            self.reason = str(body.get("reason") or "")
            self.message = redact(str(body.get("message") or ""))[:300]
        else:
            text = resp.body[:200].decode("utf-8", "replace").strip().replace("\n", " ")
            self.message = redact(text)


@dataclass
class _Found:
    """What one pass over pods learned: service of each pod, ReplicaSet, Deployment
    and node."""

    pods: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pod_svc: dict[str, str] = field(default_factory=dict)
    rs_svc: dict[str, str] = field(default_factory=dict)
    dep_svc: dict[str, str] = field(default_factory=dict)
    node_svcs: dict[str, set[str]] = field(default_factory=dict)

    def add(self, svc: str, pod: dict[str, Any]) -> None:
        name = _name(pod)
        if name in self.pod_svc:
            return
        self.pods.append((svc, pod))
        self.pod_svc[name] = svc
        hashv = _labels(pod).get("pod-template-hash")
        for o in _list_of(_d(pod, "metadata", "ownerReferences")):
            if isinstance(o, dict) and o.get("kind") == "ReplicaSet" and o.get("name"):
                rs = str(o["name"])
                self.rs_svc.setdefault(rs, svc)
                if hashv and rs.endswith("-" + hashv):
                    self.dep_svc.setdefault(rs[: -len(hashv) - 1], svc)
        node = _d(pod, "spec", "nodeName")
        if node:
            self.node_svcs.setdefault(str(node), set()).add(svc)


# ---------------------------------------------------------------- the connector


class Kubernetes:
    """Kubernetes API server. Implements `EventSource` and `ChangeSource`."""

    def __init__(
        self,
        cfg: KubernetesSource,
        *,
        kube_context: str | None = None,
        namespace: str | None = None,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "kubernetes",
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.labels = tuple(cfg.selector_labels)
        self._context = cfg.context or kube_context
        self._namespace = cfg.namespace or namespace
        self._keyring_token = token
        register_secret(token)
        self._client = client
        self.budget_s = budget_s
        self._lock = threading.Lock()
        self._target: Target | None = None
        self._http: Http | None = None
        self._cred: Credential | None = None
        self._local = threading.local()
        self._ns_exists: bool | None = None

    # ------------------------------------------------------------ notes

    def _notes(self) -> list[SourceNote]:
        notes: list[SourceNote] | None = getattr(self._local, "notes", None)
        if notes is None:
            notes = []
            self._local.notes = notes
        return notes

    def drain_notes(self) -> list[SourceNote]:
        """Partial-data notes of the calling thread's last fetch (events and changes run
        in parallel threads on the same object)."""
        out = list(self._notes())
        self._local.notes = []
        return out

    def _note(self, detail: str) -> None:
        self._notes().append(SourceNote(self.name, "partial", detail))

    # ------------------------------------------------------------ connection

    @property
    def target(self) -> Target:
        with self._lock:
            if self._target is None:
                self._target = resolve_target(
                    kubeconfig_paths(self.cfg.kubeconfig), self._context, self._namespace, self.name
                )
            return self._target

    @property
    def namespace(self) -> str:
        return self.target.namespace

    def kubectl(self, *args: str) -> str:
        """The kubectl line that shows the same thing, pinned to context and namespace."""
        t = self.target
        parts = ["kubectl", "--context", t.context, "-n", t.namespace, *args]
        return " ".join(shlex.quote(p) for p in parts)

    def _credential(self, t: Target, refresh: bool = False) -> Credential:
        u = t.user
        if self._keyring_token is not None:
            return Credential(token=self._keyring_token, origin="keyring")
        if u.auth_provider:
            raise AuthError(
                f"{self.name}: the kubeconfig user of context {t.context!r} uses the removed"
                f" auth-provider {u.auth_provider.get('name', '?')!r}",
                hint="switch it to an exec credential plugin (e.g. gke-gcloud-auth-plugin,"
                " kubelogin), or set sources.kubernetes.token_name",
            )
        cred = Credential(origin="none")
        if u.exec_ is not None:
            cred = exec_credential(
                u.exec_,
                t.user_dir,
                t.cluster,
                timeout_s=min(self.cfg.exec_timeout_s, self.budget_s),
                source=self.name,
                refresh=refresh,
            )
        elif u.token and u.token.strip():
            # surrounding whitespace (a pasted token's newline) is not part of the token
            cred = Credential(token=SecretStr(u.token.strip()), origin="kubeconfig")
        elif u.token_file:
            raw = _read(u.token_file, t.user_dir, "tokenFile", self.name).decode().strip()
            cred = Credential(token=SecretStr(raw), origin="token-file")
        if cred.cert_pem is None:
            if u.client_certificate_data or u.client_certificate:
                crt = (
                    _b64(u.client_certificate_data, "client-certificate-data", self.name)
                    if u.client_certificate_data
                    else _read(
                        u.client_certificate or "", t.user_dir, "client-certificate", self.name
                    )
                )
                if not (u.client_key_data or u.client_key):
                    raise ConfigError(
                        f"{self.name}: the kubeconfig user of context {t.context!r} has a client"
                        " certificate but no client key"
                    )
                key = (
                    _b64(u.client_key_data, "client-key-data", self.name)
                    if u.client_key_data
                    else _read(u.client_key or "", t.user_dir, "client-key", self.name)
                )
                cred.cert_pem, cred.key_pem = crt.decode(), key.decode()
                register_secret(cred.key_pem)
                if cred.origin == "none":
                    cred.origin = "client-certificate"
        if cred.token is not None:
            register_secret(cred.token)
            if not _HEADER_VALUE.fullmatch(cred.token.get_secret_value()):
                # httpx/h11 would refuse the header on every attempt (and Http would retry
                # it as a transport error): say what is wrong, once, without the token
                raise AuthError(
                    f"{self.name}: the bearer token from {self._token_origin(t, cred)} contains"
                    " a character that is not allowed in an HTTP header (a control character,"
                    " a line break inside it, or non-ASCII)",
                    hint=self._token_fix(cred),
                )
        return cred

    def _token_origin(self, t: Target, cred: Credential) -> str:
        """Where the token of `cred` was read (for a message; never the token)."""
        u = t.user
        if cred.origin == "keyring":
            return f"the keyring entry {self.cfg.token_name!r}"
        if cred.origin == "exec" and u.exec_ is not None:
            return f"exec credential plugin {Path(u.exec_.command).name!r} (context {t.context!r})"
        if cred.origin == "token-file" and u.token_file:
            f = Path(u.token_file).expanduser()
            return f"tokenFile {f if f.is_absolute() else t.user_dir / f} (context {t.context!r})"
        files = ", ".join(str(f) for f in t.files)
        return f"the kubeconfig user of context {t.context!r} ({files})"

    def _token_fix(self, cred: Credential) -> str:
        if cred.origin == "keyring":
            return f"store the token again with `aisre auth set {self.cfg.token_name}`"
        if cred.origin == "exec":
            return "check what the plugin prints (status.token of its ExecCredential)"
        if cred.origin == "token-file":
            return "rewrite the token file with only the token"
        return "re-paste users[].user.token in the kubeconfig (`kubectl config view --raw`)"

    def _ssl(self, t: Target, cred: Credential) -> ssl.SSLContext | bool:
        c = t.cluster
        if c.insecure_skip_tls_verify or not self.cfg.http.verify_tls:
            log.warning(
                "%s: TLS verification is OFF for %s (insecure-skip-tls-verify or"
                " http.verify_tls: false)",
                self.name,
                c.server,
            )
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif c.certificate_authority_data or c.certificate_authority:
            pem = (
                _b64(c.certificate_authority_data, "certificate-authority-data", self.name)
                if c.certificate_authority_data
                else _read(
                    c.certificate_authority or "", t.cluster_dir, "certificate-authority", self.name
                )
            )
            try:
                ctx = ssl.create_default_context(cadata=pem.decode("ascii", "replace"))
            except ssl.SSLError as exc:
                raise ConfigError(
                    f"{self.name}: the cluster CA of context {t.context!r} is not a PEM"
                    f" certificate ({exc.reason})",
                    hint="check certificate-authority(-data) in the kubeconfig",
                ) from None
        else:
            base = ssl_context(self.cfg.http)
            ctx = base if isinstance(base, ssl.SSLContext) else ssl.create_default_context()
        if cred.cert_pem and cred.key_pem:
            self._load_cert(ctx, cred.cert_pem, cred.key_pem, t.context)
        return ctx

    def _load_cert(self, ctx: ssl.SSLContext, cert: str, key: str, context: str) -> None:
        # ssl only loads a key pair from files: write them to a private temp dir (0700)
        # and remove them as soon as they are loaded.
        d = tempfile.mkdtemp(prefix="aisre-kube-")
        try:
            cp, kp = Path(d) / "c.pem", Path(d) / "k.pem"
            for p, data in ((cp, cert), (kp, key)):
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(data)
            try:
                ctx.load_cert_chain(str(cp), str(kp))
            except ssl.SSLError as exc:
                raise ConfigError(
                    f"{self.name}: the client certificate of context {context!r} cannot be"
                    f" loaded ({exc.reason})",
                    hint="check client-certificate/client-key in the kubeconfig",
                ) from None
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def _conn(self, refresh: bool = False) -> Http:
        t = self.target
        with self._lock:
            if self._http is not None and not refresh and self._cred and self._cred.fresh():
                return self._http
            cred = self._credential(t, refresh=refresh)
            https = t.cluster.server.lower().startswith("https://")
            if not https and (cred.token or cred.cert_pem):
                log.warning(
                    "%s: %s is not https: credentials are not sent (as kubectl does)",
                    self.name,
                    t.cluster.server,
                )
            client = self._client
            if client is None:
                s = self.cfg.http
                client = httpx.Client(
                    timeout=httpx.Timeout(
                        connect=s.connect_timeout,
                        read=s.read_timeout,
                        write=s.read_timeout,
                        pool=s.connect_timeout,
                    ),
                    verify=self._ssl(t, cred) if https else True,
                    follow_redirects=False,
                    trust_env=True,
                )
            # The previous client is not closed here: the other role's thread may be
            # mid-request on it; it is released when no longer referenced.
            self._http = Http(
                source=self.name,
                base_url=t.cluster.server,
                settings=self.cfg.http,
                token=cred.token if https else None,
                client=client,
                budget_s=self.budget_s,
            )
            self._cred = cred
            return self._http

    # ------------------------------------------------------------ requests

    def _get(
        self,
        path: str,
        params: dict[str, str] | None,
        what: str,
        deadline: float,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One GET; 401/403/404/5xx become AuthError/SourceError naming `what`; a 410
        is returned to the caller (pagination handles it)."""
        http = self._conn()
        resp = http.request("GET", path, params=params, deadline=deadline, headers=headers, ok=_OK)
        if resp.status == 401 and self._cred is not None and self._cred.origin == "exec":
            http = self._conn(refresh=True)  # the plugin's token may have been revoked early
            resp = http.request(
                "GET", path, params=params, deadline=deadline, headers=headers, ok=_OK
            )
        if resp.status in (200, 410):
            return resp
        raise self._error(resp, what)

    def _error(self, resp: Response, what: str) -> AisreError:
        st = _Status(resp)
        t = self.target
        ctx = shlex.quote(t.context)
        if st.code == 401:
            https = t.cluster.server.lower().startswith("https://")
            origin = self._cred.origin if self._cred else "none"
            if not https:
                hint = "credentials are sent only over https (as kubectl does): use the https URL"
            elif origin == "keyring":
                hint = f"store a valid token with `aisre auth set {self.cfg.token_name}`"
            elif origin == "none":
                hint = f"the kubeconfig user of context {t.context!r} has no credential"
            else:
                hint = (
                    f"refresh the kubeconfig credentials; check with `kubectl --context {ctx}"
                    " auth whoami`"
                )
            return AuthError(
                f"{self.name}: the API server rejected the credentials (HTTP 401) of context"
                f" {t.context!r} while reading {what}",
                hint=hint,
            )
        if st.code == 403:
            msg = st.message or f"cannot read {what}"
            return AuthError(
                f"{self.name}: forbidden (HTTP 403): {msg}",
                hint=f"grant get/list/watch on {what} (docs/kubernetes.md, RBAC); check with"
                f" `kubectl --context {ctx} auth can-i list {what} -n"
                f" {shlex.quote(t.namespace)}`",
            )
        if st.code == 404:
            return SourceError(
                f"{self.name}: {what}: not found on the API server (HTTP 404"
                + (f": {st.message}" if st.message else "")
                + ")",
                hint="is the server URL a Kubernetes API server, and this API version served?",
            )
        return SourceError(
            f"{self.name}: reading {what} failed: HTTP {st.code}"
            + (f" {st.reason}" if st.reason else "")
            + (f": {st.message}" if st.message else ""),
            hint=f"the API server is failing; check `kubectl --context {ctx} get --raw /readyz`"
            if st.code >= 500
            else "re-run with -vv and report it",
        )

    def _json(self, resp: Response) -> dict[str, Any]:
        body = resp.json(self.name)
        if not isinstance(body, dict):
            raise SourceError(
                f"{self.name}: unexpected answer from {resp.url.split('?')[0]}: not an object",
                hint="is the server URL a Kubernetes API server?",
            )
        return body

    def _list(
        self,
        path: str,
        what: str,
        deadline: float,
        params: dict[str, str] | None = None,
        *,
        metadata_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Every item of a list, page by page. An expired continue token (410 Gone)
        restarts the list once from the beginning; items are keyed by uid, so a restart
        does not duplicate them."""
        t0 = time.monotonic()
        items: dict[str, dict[str, Any]] = {}
        cont: str | None = None
        restarted = False
        pages = 0
        headers = {"Accept": META_LIST} if metadata_only else None
        shown = path + (f"?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else "")
        limit = self.cfg.page_size
        while True:
            q = dict(params or {})
            q["limit"] = str(limit)
            if cont:
                q["continue"] = cont
            try:
                resp = self._get(path, q, what, deadline, headers)
                if resp.status == 410 and not cont:
                    raise self._error(resp, what)
                body = self._json(resp) if resp.status != 410 else {}
            except ResponseTooLarge:
                if limit <= MIN_PAGE_SIZE:
                    raise
                # a page of big objects (pods with long managedFields) above the body cap:
                # the same page again, fewer at a time (a continue token allows it)
                limit = max(MIN_PAGE_SIZE, limit // 4)
                self._note(
                    f"{what}: a page of {self.cfg.page_size} was above http.max_body_bytes;"
                    f" read {limit} at a time"
                )
                continue
            except AisreError as exc:
                if not pages:
                    raise
                # a later page failed (an etcd timeout, the budget): what the earlier
                # pages answered is kept, and the note says the list is incomplete
                why = exc.message.removeprefix(f"{self.name}: ")
                self._note(
                    f"{what}: stopped after {pages} page(s), kept {len(items)} item(s);"
                    f" the next page failed: {why}"
                )
                break
            if resp.status == 410:
                if restarted:
                    self._note(
                        f"{what}: the list changed faster than it could be paged"
                        " (410 Gone twice); kept the items read so far"
                    )
                    break
                restarted = True
                cont = None
                self._note(
                    f"{what}: continue token expired (410 Gone) while paging;"
                    " listed again from the start"
                )
                continue
            for it in _list_of(body.get("items")):
                if not isinstance(it, dict):
                    continue
                if metadata_only:  # never keep Secret data, even if a proxy sent it
                    it.pop("data", None)
                    it.pop("stringData", None)
                meta = _obj(it.get("metadata"))
                key = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
                items[key] = it
            pages += 1
            cont = _d(body, "metadata", "continue") or None
            if not cont:
                break
            # as many objects as max_pages full pages hold, whatever the page size became
            if pages * limit >= self.cfg.max_pages * self.cfg.page_size:
                left = _d(body, "metadata", "remainingItemCount")
                more = f" ({left} more)" if isinstance(left, int) else ""
                self._note(f"{what}: stopped after {pages} pages of {limit}{more}")
                break
        record(QueryStat(self.name, what, shown, time.monotonic() - t0, len(items), "objects"))
        return list(items.values())

    def _ns_path(self, group: str, resource: str) -> str:
        ns = quote(self.target.namespace, safe="")
        base = "/api/v1" if not group else f"/apis/{group}"
        return f"{base}/namespaces/{ns}/{resource}"

    def _each(
        self,
        what: str,
        items: Iterable[_T],
        fn: Callable[[_T], Iterable[_R]],
        name_of: Callable[[_T], str],
    ) -> list[_R]:
        """`fn` over every item; an item of an unexpected shape is skipped with one
        partial note (how many, and the first one's name and error)."""
        out: list[_R] = []
        bad: list[str] = []
        for it in items:
            try:
                out.extend(fn(it))
            except _MALFORMED as exc:
                try:
                    name = name_of(it)
                except _MALFORMED:
                    name = "?"
                bad.append(f"{name} ({type(exc).__name__}: {str(exc)[:120]})")
        if bad:
            self._note(
                f"{what}: skipped {len(bad)} object(s) of an unexpected shape, e.g. {bad[0]}"
            )
        return out

    def _missing_namespace(self, deadline: float) -> SourceError | None:
        """An error to raise when the pinned namespace does not exist. A list in a
        namespace that does not exist is an empty 200 (as for `kubectl get pods -n
        typo`), so an empty primary list asks once; a refusal (RBAC need not grant
        `get namespaces`) or any other answer is not a verdict."""
        with self._lock:
            known = self._ns_exists
        if known is None:
            t = self.target
            path = f"/api/v1/namespaces/{quote(t.namespace, safe='')}"
            try:
                resp = self._conn().request("GET", path, deadline=deadline, ok=_OK)
            except AisreError:
                return None
            known = resp.status != 404
            with self._lock:
                self._ns_exists = known
        if known:
            return None
        t = self.target
        ctx = shlex.quote(t.context)
        return SourceError(
            f"{self.name}: namespace {t.namespace!r} does not exist in context {t.context!r}"
            " (every list in it is empty)",
            hint="fix the profile's namespace (or sources.kubernetes.namespace); list them with"
            f" `kubectl --context {ctx} get namespaces`",
        )

    def _soft(self, what: str, fn: Callable[[], Any], default: Any) -> Any:
        """A secondary read: a refusal or failure becomes a partial note, not an error."""
        try:
            return fn()
        except AisreError as exc:
            self._note(f"{what} skipped: {exc.message}")
            return default

    # ------------------------------------------------------------ service mapping

    def service_of(self, labels: dict[str, str]) -> str | None:
        for key in self.labels:
            v = labels.get(key)
            if v:
                return v
        return None

    def _pods(self, services: set[str] | None, deadline: float) -> _Found:
        found = _Found()
        path = self._ns_path("", "pods")
        if services is None:
            for pod in self._list(path, "pods", deadline):
                svc = self.service_of(_labels(pod))
                if svc:
                    found.add(svc, pod)
            return found
        # a name that cannot be a label value (an alert's free-text service) matches no pod
        valid = sorted(x for x in services if _LABEL_VALUE.fullmatch(x))
        if not valid:
            return found
        wanted = ",".join(valid)
        for i, key in enumerate(self.labels):
            # pods carrying an earlier selector label belong to that label's value
            sel = [f"{key} in ({wanted})", *(f"!{k}" for k in self.labels[:i])]
            for pod in self._list(path, "pods", deadline, {"labelSelector": ",".join(sel)}):
                svc = self.service_of(_labels(pod))
                if svc in services:
                    found.add(svc, pod)
        return found

    # ------------------------------------------------------------ EventSource

    def fetch_events(
        self, start: datetime, end: datetime, services: set[str] | None
    ) -> list[Event]:
        deadline = _deadline(self.budget_s)
        lo, hi = start.timestamp(), end.timestamp()
        found = self._pods(services, deadline)
        if not found.pods and (missing := self._missing_namespace(deadline)) is not None:
            raise missing
        out: list[Event] = self._each(
            "pods",
            found.pods,
            lambda sp: self._pod_events(sp[0], sp[1], lo, hi),
            lambda sp: f"pod/{_name(sp[1])}",
        )
        deployments: list[dict[str, Any]] = self._soft(
            "deployment status",
            lambda: self._list(self._ns_path("apps/v1", "deployments"), "deployments", deadline),
            [],
        )

        def dep_events(d: dict[str, Any]) -> list[Event]:
            svc = self._deployment_service(d)
            found.dep_svc.setdefault(_name(d), svc)
            return self._deployment_events(svc, d, lo, hi)

        out.extend(self._each("deployments", deployments, dep_events, _kind_name("deployment")))
        hpas: list[dict[str, Any]] = self._soft(
            "HPAs",
            lambda: self._list(
                self._ns_path("autoscaling/v2", "horizontalpodautoscalers"),
                "horizontalpodautoscalers",
                deadline,
            ),
            [],
        )
        hpa_svc: dict[str, str] = {}

        def hpa_events(h: dict[str, Any]) -> list[Event]:
            owner = self._hpa_service(h, found)
            if not owner:
                return []
            hpa_svc[_name(h)] = owner
            return self._hpa_events(owner, h, lo, hi)

        out.extend(self._each("HPAs", hpas, hpa_events, _kind_name("horizontalpodautoscaler")))
        warnings: list[dict[str, Any]] = self._soft(
            "events",
            lambda: self._list(
                self._ns_path("", "events"), "events", deadline, {"fieldSelector": "type=Warning"}
            ),
            [],
        )
        out.extend(
            self._each(
                "events",
                warnings,
                lambda e: self._k8s_event(e, found, hpa_svc, lo, hi),
                _kind_name("event"),
            )
        )
        out.extend(self._node_events(found, lo, hi, deadline))
        if services is not None:
            out = [e for e in out if e.service in services]
        out.sort(key=lambda e: (e.ts, e.service, e.reason))
        return out

    def _pod_ref(self, name: str) -> str:
        return f"{self.target.cluster.server}{self._ns_path('', 'pods')}/{name}"

    def _pod_events(self, svc: str, pod: dict[str, Any], lo: float, hi: float) -> list[Event]:
        name = _name(pod)
        node = str(_d(pod, "spec", "nodeName") or "")
        st = _obj(pod.get("status"))
        conds = {
            str(c.get("type")): c for c in _list_of(st.get("conditions")) if isinstance(c, dict)
        }
        ready_at = _ts(_d(conds.get("Ready"), "lastTransitionTime"))
        obj = f"pod/{name}"
        yaml_q = self.kubectl("get", "pod", name, "-o", "yaml")
        desc_q = self.kubectl("describe", "pod", name)
        ref = self._pod_ref(name)
        out: list[Event] = []

        def relevant(since: float | None) -> bool:
            # a current state that began before the window ended; with no start time
            # known, only a window that reaches (nearly) now can contain it
            if since is not None:
                return since <= hi
            return hi >= time.time() - 600

        def now_ts(since: float | None) -> float:
            # a current state: seen now (or since its condition changed), inside the window
            t = min(time.time(), hi) if since is None else since
            return max(lo, min(hi, t))

        statuses = [
            *_list_of(st.get("initContainerStatuses")),
            *_list_of(st.get("containerStatuses")),
        ]
        total_restarts = 0
        for cs in statuses:
            if not isinstance(cs, dict):
                continue
            cname = str(cs.get("name") or "")
            restarts = _int(cs.get("restartCount"))
            total_restarts += restarts
            base = {"container": cname, "restarts": restarts, "node": node, "pod": name}
            term = _d(cs, "lastState", "terminated")
            if isinstance(term, dict):
                at = _ts(term.get("finishedAt"))
                reason = str(term.get("reason") or "Terminated")
                code = term.get("exitCode")
                if at is not None and lo <= at <= hi and reason != "Completed":
                    attrs = dict(base, exit_code=code)
                    if isinstance(code, int) and code in SIGNALS:
                        attrs["signal"] = SIGNALS[code]
                    out.append(
                        Event(
                            ts=at,
                            service=svc,
                            reason=reason,
                            type="Warning",
                            message=f"container {cname} terminated: {reason} (exit code {code});"
                            f" restarted {restarts} time(s)",
                            object=obj,
                            count=max(1, restarts),
                            attrs=attrs,
                            query=yaml_q,
                            ref=ref,
                        )
                    )
            waiting = _d(cs, "state", "waiting")
            if isinstance(waiting, dict) and str(waiting.get("reason")) in WAITING_REASONS:
                since = ready_at
                if relevant(since):
                    reason = str(waiting["reason"])
                    msg = str(waiting.get("message") or reason)
                    out.append(
                        Event(
                            ts=now_ts(since),
                            service=svc,
                            reason=reason,
                            type="Warning",
                            message=f"container {cname} waiting: {msg}"[:500],
                            object=obj,
                            count=max(1, restarts),
                            attrs=dict(base),
                            query=yaml_q,
                            ref=ref,
                        )
                    )
        phase = str(st.get("phase") or "")
        if phase == "Failed" and st.get("reason"):
            reason = str(st["reason"])
            since = ready_at
            if relevant(since):
                out.append(
                    Event(
                        ts=now_ts(since),
                        service=svc,
                        reason=reason,
                        type="Warning",
                        message=str(st.get("message") or f"pod {reason}")[:500],
                        object=obj,
                        attrs={"node": node, "pod": name, "phase": phase},
                        query=desc_q,
                        ref=ref,
                    )
                )
        sched = conds.get("PodScheduled")
        if sched and sched.get("status") == "False":
            since = _ts(sched.get("lastTransitionTime"))
            if relevant(since):
                out.append(
                    Event(
                        ts=now_ts(since),
                        service=svc,
                        reason=str(sched.get("reason") or "Unschedulable"),
                        type="Warning",
                        message=str(sched.get("message") or "pod not scheduled")[:500],
                        object=obj,
                        attrs={"pod": name, "condition": "PodScheduled"},
                        query=desc_q,
                        ref=ref,
                    )
                )
        ready = conds.get("Ready")
        if (
            not out
            and phase == "Running"
            and ready is not None
            and ready.get("status") == "False"
            and ready_at is not None
            and lo <= ready_at <= hi
        ):
            out.append(
                Event(
                    ts=ready_at,
                    service=svc,
                    reason="PodNotReady",
                    type="Warning",
                    message=str(ready.get("message") or ready.get("reason") or "pod not ready")[
                        :500
                    ],
                    object=obj,
                    attrs={"pod": name, "node": node, "restarts": total_restarts},
                    query=desc_q,
                    ref=ref,
                )
            )
        return out

    def _deployment_events(self, svc: str, d: dict[str, Any], lo: float, hi: float) -> list[Event]:
        """A rollout the controller gave up on (Progressing=False,
        ProgressDeadlineExceeded): a condition, not an event, so it is read here."""
        for c in _list_of(_d(d, "status", "conditions")):
            if not isinstance(c, dict) or c.get("type") != "Progressing":
                continue
            if c.get("status") != "False" or c.get("reason") != "ProgressDeadlineExceeded":
                continue
            since = _ts(c.get("lastTransitionTime"))
            if since is not None and since > hi:
                return []
            name = _name(d)
            ts = max(lo, min(hi, since if since is not None else time.time()))
            return [
                Event(
                    ts=ts,
                    service=svc,
                    reason="ProgressDeadlineExceeded",
                    type="Warning",
                    message=str(c.get("message") or "rollout stuck")[:500],
                    object=f"deployment/{name}",
                    attrs={
                        "revision": _d(d, "metadata", "annotations", REVISION),
                        "updated_replicas": _d(d, "status", "updatedReplicas"),
                        "unavailable_replicas": _d(d, "status", "unavailableReplicas"),
                    },
                    query=self.kubectl("rollout", "status", f"deployment/{name}"),
                )
            ]
        return []

    def _hpa_service(self, h: dict[str, Any], found: _Found) -> str | None:
        ref = _d(h, "spec", "scaleTargetRef") or {}
        target = str(ref.get("name") or "")
        if ref.get("kind") == "Deployment" and target in found.dep_svc:
            return found.dep_svc[target]
        if target in set(found.pod_svc.values()):
            return target
        return None

    def _hpa_events(self, svc: str, h: dict[str, Any], lo: float, hi: float) -> list[Event]:
        st = _obj(h.get("status"))
        mx = _d(h, "spec", "maxReplicas")
        cur = st.get("currentReplicas")
        desired = st.get("desiredReplicas")
        if not isinstance(mx, int):
            return []
        at_max = (isinstance(cur, int) and cur >= mx) or (
            isinstance(desired, int) and desired >= mx
        )
        if not at_max:
            return []
        limited = next(
            (
                c
                for c in _list_of(st.get("conditions"))
                if isinstance(c, dict)
                and c.get("type") == "ScalingLimited"
                and c.get("status") == "True"
            ),
            None,
        )
        since = _ts(_d(limited, "lastTransitionTime")) or _ts(st.get("lastScaleTime"))
        if since is not None and since > hi:
            return []
        ts = max(lo, min(hi, since if since is not None else time.time()))
        name = _name(h)
        target = _d(h, "spec", "scaleTargetRef", "name")
        return [
            Event(
                ts=ts,
                service=svc,
                reason="HPAAtMaxReplicas",
                type="Warning",
                message=f"HPA {name} at its maximum: {cur} current, {desired} desired, max {mx}"
                f" (target deployment/{target})",
                object=f"horizontalpodautoscaler/{name}",
                attrs={
                    "current_replicas": cur,
                    "desired_replicas": desired,
                    "max_replicas": mx,
                    "min_replicas": _d(h, "spec", "minReplicas"),
                },
                query=self.kubectl("describe", "hpa", name),
            )
        ]

    def _k8s_event(
        self,
        e: dict[str, Any],
        found: _Found,
        hpa_svc: dict[str, str],
        lo: float,
        hi: float,
    ) -> list[Event]:
        io = _obj(e.get("involvedObject"))
        if not io:
            io = _obj(e.get("regarding"))
        kind = str(io.get("kind") or "")
        oname = str(io.get("name") or "")
        last = (
            _ts(e.get("lastTimestamp"))
            or _ts(_d(e, "series", "lastObservedTime"))
            or _ts(e.get("eventTime"))
            or _ts(_d(e, "metadata", "creationTimestamp"))
        )
        first = _ts(e.get("firstTimestamp")) or _ts(e.get("eventTime")) or last
        if last is None or first is None or last < lo or first > hi:
            return []
        ts = last if last <= hi else max(first, lo)
        svcs: set[str] = set()
        if kind == "Pod":
            svc = found.pod_svc.get(oname) or self._by_prefix(oname, found, 2)
            svcs = {svc} if svc else set()
        elif kind == "ReplicaSet":
            svc = found.rs_svc.get(oname) or self._by_prefix(oname, found, 1)
            svcs = {svc} if svc else set()
        elif kind == "Deployment":
            svc = found.dep_svc.get(oname) or (
                oname if oname in set(found.pod_svc.values()) else None
            )
            svcs = {svc} if svc else set()
        elif kind == "HorizontalPodAutoscaler":
            svcs = {hpa_svc[oname]} if oname in hpa_svc else set()
        elif kind == "Node":
            svcs = set(found.node_svcs.get(oname, set()))
        if not svcs:
            return []
        reason = str(e.get("reason") or "")
        count = _count(e.get("count")) or _count(_d(e, "series", "count")) or 1
        component = _d(e, "source", "component") or e.get("reportingComponent") or ""
        sel = (
            f"involvedObject.name={oname},reason={reason}"
            if reason
            else (f"involvedObject.name={oname}")
        )
        return [
            Event(
                ts=ts,
                service=svc,
                reason=reason,
                type=str(e.get("type") or "Warning"),
                message=str(e.get("message") or e.get("note") or "")[:1000],
                object=f"{kind.lower()}/{oname}",
                count=count,
                attrs={
                    "first_seen": _fmt_time(first),
                    "component": str(component),
                    "involved_kind": kind,
                },
                query=self.kubectl("get", "events", "--field-selector", sel),
                ref=f"{self.target.cluster.server}{self._ns_path('', 'events')}/{_name(e)}",
            )
            for svc in sorted(svcs)
        ]

    @staticmethod
    def _by_prefix(name: str, found: _Found, dashes: int) -> str | None:
        """A deleted pod (`checkout-7d9f8b6c4-x2x7k`) or ReplicaSet's service, from the
        Deployment name its name starts with."""
        parts = name.rsplit("-", dashes)
        if len(parts) != dashes + 1:
            return None
        rs = "-".join(parts[:2]) if dashes == 2 else name
        if rs in found.rs_svc:
            return found.rs_svc[rs]
        return found.dep_svc.get(parts[0])

    def _node_events(self, found: _Found, lo: float, hi: float, deadline: float) -> list[Event]:
        out: list[Event] = []
        nodes = sorted(found.node_svcs)
        if len(nodes) > MAX_NODES:
            self._note(f"node conditions: read {MAX_NODES} of {len(nodes)} nodes")
            nodes = nodes[:MAX_NODES]

        def read(n: str) -> Callable[[], dict[str, Any]]:
            # the name comes from a pod's spec: quoted, so an odd one is a 404 note for
            # that node, never an invalid URL that sinks every event already read
            path = f"/api/v1/nodes/{quote(n, safe='')}"
            return lambda: self._json(self._get(path, None, "nodes", deadline))

        for i, node in enumerate(nodes):
            if time.monotonic() >= deadline:
                self._note(
                    f"node conditions: time budget spent; {len(nodes) - i} of {len(nodes)}"
                    " nodes not read"
                )
                break
            obj = self._soft(f"node {node}", read(node), None)
            if obj is None:
                if any(
                    n.detail.startswith(f"node {node} skipped: {self.name}: forbidden")
                    for n in self._notes()
                ):
                    break  # no permission on nodes: do not ask for every one
                continue
            try:
                out.extend(self._node_conditions(node, obj, found, lo, hi))
            except _MALFORMED as exc:
                self._note(f"node {node} skipped: unexpected shape ({type(exc).__name__}: {exc})")
        return out

    def _node_conditions(
        self, node: str, obj: dict[str, Any], found: _Found, lo: float, hi: float
    ) -> list[Event]:
        out: list[Event] = []
        for c in _list_of(_d(obj, "status", "conditions")):
            if not isinstance(c, dict):
                continue
            ctype, status = str(c.get("type")), str(c.get("status"))
            if ctype in NODE_PRESSURE and status == "True":
                reason = NODE_PRESSURE[ctype]
            elif ctype == "Ready" and status != "True":
                reason = "NodeNotReady"
            else:
                continue
            since = _ts(c.get("lastTransitionTime"))
            if since is not None and since > hi:
                continue
            ts = max(lo, min(hi, since if since is not None else time.time()))
            for svc in sorted(found.node_svcs[node]):
                out.append(
                    Event(
                        ts=ts,
                        service=svc,
                        reason=reason,
                        type="Warning",
                        message=f"node {node}: {ctype}={status}"
                        + (f" ({c.get('reason')}: {c.get('message')})" if c.get("reason") else ""),
                        object=f"node/{node}",
                        attrs={
                            "node": node,
                            "condition": ctype,
                            "status": status,
                            "since": _fmt_time(since) if since else None,
                        },
                        query=self.kubectl("describe", "node", node),
                        ref=f"{self.target.cluster.server}/api/v1/nodes/{node}",
                    )
                )
        return out

    # ------------------------------------------------------------ ChangeSource

    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        deadline = _deadline(self.budget_s)
        lo, hi = start.timestamp(), end.timestamp()
        deps = self._list(self._ns_path("apps/v1", "deployments"), "deployments", deadline)
        if not deps and (missing := self._missing_namespace(deadline)) is not None:
            raise missing
        rss = self._list(self._ns_path("apps/v1", "replicasets"), "replicasets", deadline)
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for rs in rss:
            for o in _list_of(_d(rs, "metadata", "ownerReferences")):
                if isinstance(o, dict) and o.get("kind") == "Deployment" and o.get("controller"):
                    by_owner.setdefault(str(o.get("uid")), []).append(rs)
        out: list[Change] = []
        cm_users: dict[str, list[tuple[str, str]]] = {}
        secret_users: dict[str, list[tuple[str, str]]] = {}

        def rollouts(d: dict[str, Any]) -> list[Change]:
            svc = self._deployment_service(d)
            changes = self._rollouts(
                svc, d, by_owner.get(str(_d(d, "metadata", "uid")), []), lo, hi
            )
            cms, secrets = _refs(_d(d, "spec", "template"))
            for n in cms:
                cm_users.setdefault(n, []).append((_name(d), svc))
            for n in secrets:
                secret_users.setdefault(n, []).append((_name(d), svc))
            return changes

        out.extend(self._each("deployments", deps, rollouts, _kind_name("deployment")))
        if cm_users:
            cms_l: list[dict[str, Any]] = self._soft(
                "ConfigMap updates",
                lambda: self._list(
                    self._ns_path("", "configmaps"), "configmaps", deadline, metadata_only=True
                ),
                [],
            )
            out.extend(
                self._each(
                    "ConfigMaps",
                    cms_l,
                    lambda it: self._config_changes("ConfigMap", [it], cm_users, lo, hi),
                    _kind_name("configmap"),
                )
            )
        if secret_users and self.cfg.secrets:
            sec_l: list[dict[str, Any]] = self._soft(
                "Secret updates",
                lambda: self._list(
                    self._ns_path("", "secrets"), "secrets", deadline, metadata_only=True
                ),
                [],
            )
            out.extend(
                self._each(
                    "Secrets",
                    sec_l,
                    lambda it: self._config_changes("Secret", [it], secret_users, lo, hi),
                    _kind_name("secret"),
                )
            )
        hpas: list[dict[str, Any]] = self._soft(
            "HPA scaling",
            lambda: self._list(
                self._ns_path("autoscaling/v2", "horizontalpodautoscalers"),
                "horizontalpodautoscalers",
                deadline,
            ),
            [],
        )
        dep_svc: dict[str, str] = {}
        for d in deps:
            try:
                dep_svc[_name(d)] = self._deployment_service(d)
            except _MALFORMED:
                continue  # already noted by the rollouts pass
        out.extend(
            self._each(
                "HPAs",
                hpas,
                lambda h: self._scale_changes(h, dep_svc, lo, hi),
                _kind_name("horizontalpodautoscaler"),
            )
        )
        out.sort(key=lambda c: c.ts)
        return out

    def _deployment_service(self, d: dict[str, Any]) -> str:
        """A Deployment's service: from its pod template's labels, then its own, then
        its name."""
        tmpl_labels = _d(d, "spec", "template", "metadata", "labels")
        labels = (
            {str(k): str(v) for k, v in tmpl_labels.items()}
            if isinstance(tmpl_labels, dict)
            else {}
        )
        return self.service_of(labels) or self.service_of(_labels(d)) or _name(d)

    def _rs_time(self, rs: dict[str, Any]) -> float | None:
        """When the ReplicaSet became its Deployment's current one: its creation, or, for
        a rolled-back-to ReplicaSet (it carries revision-history), the last write of
        its revision annotation."""
        created = _ts(_d(rs, "metadata", "creationTimestamp"))
        if not _d(rs, "metadata", "annotations", REVISION_HISTORY):
            return created
        times = [
            t
            for t, _, f in _managers(rs)
            if f"f:{REVISION}" in (_d(f, "f:metadata", "f:annotations") or {})
        ]
        return max(times) if times else created

    def _author(self, d: dict[str, Any], when: float) -> str | None:
        """The field manager that last wrote the Deployment's pod template, if that write
        was within two minutes of the ReplicaSet's time."""
        best: tuple[float, str] | None = None
        for t, who, f in _managers(d):
            if who == "kube-controller-manager" or "f:template" not in (_d(f, "f:spec") or {}):
                continue
            gap = abs(t - when)
            if gap <= 120 and (best is None or gap < best[0]):
                best = (gap, who)
        return best[1] if best else None

    def _rollouts(
        self, svc: str, d: dict[str, Any], rss: list[dict[str, Any]], lo: float, hi: float
    ) -> list[Change]:
        def rev(rs: dict[str, Any]) -> int:
            v = _d(rs, "metadata", "annotations", REVISION)
            return int(v) if isinstance(v, str) and v.isdigit() else 0

        ordered = sorted((r for r in rss if rev(r) > 0), key=rev)
        # every revision a template has had: a rolled-back-to ReplicaSet keeps its old
        # numbers in revision-history, so the template of revision n-1 is still known
        at_rev: dict[int, dict[str, Any]] = {}
        for rs in ordered:
            hist = str(_d(rs, "metadata", "annotations", REVISION_HISTORY) or "")
            for r in [*hist.split(","), str(rev(rs))]:
                if r.strip().isdigit():
                    at_rev[int(r)] = rs
        name = _name(d)
        out: list[Change] = []
        for rs in ordered:
            when = self._rs_time(rs)
            if when is None or not lo <= when <= hi:
                continue
            n = rev(rs)
            prev = at_rev.get(n - 1)
            new_t, old_t = _d(rs, "spec", "template"), _d(prev, "spec", "template")
            new_img, old_img = _images(new_t), _images(old_t) if prev else []
            cause = _d(rs, "metadata", "annotations", CHANGE_CAUSE)
            if prev is None:
                what = f"created at {_image_text(new_img)}"
                version, previous = _image_text(new_img), None
            elif new_img != old_img:
                what = f"image {_image_text(old_img)} → {_image_text(new_img)}"
                version, previous = _image_text(new_img), _image_text(old_img)
            else:
                diff = _template_diff(old_t, new_t)
                what = "pod template changed: " + (", ".join(diff[:6]) or "metadata")
                version, previous = f"revision {n}", f"revision {rev(prev)}"
            rollback = _d(rs, "metadata", "annotations", REVISION_HISTORY)
            summary = f"deployment/{name} revision {n}: {what}"
            if rollback:
                summary += f" (rollback to the template of revision {rollback.split(',')[-1]})"
            if isinstance(cause, str) and cause:
                summary += f"; cause: {cause}"
            out.append(
                Change(
                    id=f"k8s:{self.target.context}/{self.namespace}/deployment/{name}@{n}",
                    ts=datetime.fromtimestamp(when, UTC),
                    service=svc,
                    kind="deploy",
                    summary=summary[:500],
                    version=version,
                    previous_version=previous,
                    author=self._author(d, when),
                    source=self.name,
                    ref=self.kubectl("rollout", "history", f"deployment/{name}", f"--revision={n}"),
                )
            )
        return out

    def _config_changes(
        self,
        kind: str,
        items: list[dict[str, Any]],
        users: dict[str, list[tuple[str, str]]],
        lo: float,
        hi: float,
    ) -> list[Change]:
        out: list[Change] = []
        for it in items:
            name = _name(it)
            if name not in users:
                continue
            created = _ts(_d(it, "metadata", "creationTimestamp"))
            at, who = _updated(it)
            if at is None or not lo <= at <= hi:
                continue
            verb = "created" if created is not None and abs(at - created) < 1 else "updated"
            rv = str(_d(it, "metadata", "resourceVersion") or "")
            for dep, svc in sorted(set(users[name])):
                out.append(
                    Change(
                        id=f"k8s:{self.target.context}/{self.namespace}/{kind.lower()}/{name}@{rv}"
                        f"/{dep}",
                        ts=datetime.fromtimestamp(at, UTC),
                        service=svc,
                        kind="config",
                        summary=f"{kind} {name} (used by deployment/{dep}) {verb}"
                        + (f" by {who}" if who else "")
                        + (" (data not read)" if kind == "Secret" else ""),
                        version=f"resourceVersion {rv}" if rv else None,
                        author=who,
                        source=self.name,
                        ref=self.kubectl(
                            "get",
                            kind.lower(),
                            name,
                            "--show-managed-fields",
                            "-o",
                            "jsonpath={.metadata.managedFields}",
                        )
                        if kind == "Secret"
                        else self.kubectl(
                            "get", "configmap", name, "-o", "yaml", "--show-managed-fields"
                        ),
                    )
                )
        return out

    def _scale_changes(
        self, h: dict[str, Any], dep_svc: dict[str, str], lo: float, hi: float
    ) -> list[Change]:
        at = _ts(_d(h, "status", "lastScaleTime"))
        if at is None or not lo <= at <= hi:
            return []
        target = str(_d(h, "spec", "scaleTargetRef", "name") or "")
        svc = dep_svc.get(target)
        if svc is None:
            return []
        name = _name(h)
        cur = _d(h, "status", "currentReplicas")
        desired = _d(h, "status", "desiredReplicas")
        mn, mx = _d(h, "spec", "minReplicas"), _d(h, "spec", "maxReplicas")
        at_max = isinstance(mx, int) and isinstance(desired, int) and desired >= mx
        return [
            Change(
                id=f"k8s:{self.target.context}/{self.namespace}/hpa/{name}@{_fmt_time(at)}",
                ts=datetime.fromtimestamp(at, UTC),
                service=svc,
                kind="scale",
                summary=f"HPA {name} scaled deployment/{target} to {desired} replicas (now {cur},"
                f" min {mn}, max {mx})" + (": at its maximum" if at_max else ""),
                version=str(desired) if desired is not None else None,
                author="horizontal-pod-autoscaler",
                source=self.name,
                ref=self.kubectl("describe", "hpa", name),
            )
        ]

    # ------------------------------------------------------------ doctor

    def check(self) -> Health:
        t0 = time.monotonic()
        try:
            t = self.target
            where = f"{t.cluster.server} (context {t.context}, namespace {t.namespace})"
        except AisreError as exc:
            return Health(self.name, "?", False, None, detail=exc.message, hint=exc.hint or "")
        version: str | None = None
        try:
            deadline = time.monotonic() + min(self.budget_s, 10.0)
            resp = self._get("/version", None, "the server version", deadline)
            v = self._json(resp).get("gitVersion")
            version = str(v) if v else None
            pods = self._get(self._ns_path("", "pods"), {"limit": "1"}, "pods", deadline)
            missing = (
                None
                if _list_of(self._json(pods).get("items"))
                else self._missing_namespace(deadline)
            )
        except AuthError as exc:
            return Health(self.name, where, True, False, version, None, exc.message, exc.hint or "")
        except AisreError as exc:
            return Health(self.name, where, False, None, version, None, exc.message, exc.hint or "")
        ms = round((time.monotonic() - t0) * 1000.0, 1)
        authed = self._cred is not None and self._cred.origin != "none"
        if missing is not None:
            return Health(
                self.name,
                where,
                True,
                True if authed else None,
                version,
                ms,
                missing.message,
                missing.hint or "",
            )
        return Health(self.name, where, True, True if authed else None, version, ms)


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `kubernetes` source type (sources/catalog.py)."""

    def build(cfg: KubernetesSource, env: SourceEnv) -> Kubernetes:
        return Kubernetes(
            cfg,
            kube_context=env.kube_context,
            namespace=env.namespace,
            token=env.token(cfg.token_name) if cfg.token_name else None,
            client=env.client,
            budget_s=env.budget_s,
        )

    register(
        SourceType(
            "kubernetes",
            ("events", "changes"),
            build,
            KubernetesSource,
            summary="Kubernetes pods, Warning events, node and HPA state; rollouts and"
            " config updates as changes",
        )
    )
