"""Kubernetes API server subset, on loopback, that the real `kubectl` works against.

What it serves (shapes from https://kubernetes.io/docs/reference/using-api/api-concepts/
and the API reference):

* discovery: `/version`, `/api` (APIVersions), `/apis` (APIGroupList), `/api/v1`,
  `/apis/apps/v1`, `/apis/autoscaling/v2` (APIResourceList); `/openapi/*` is a 404
  (kubectl falls back, as with an old server);
* core/v1 pods, events, namespaces, nodes, configmaps, secrets; apps/v1 deployments
  and replicasets; autoscaling/v2 horizontalpodautoscalers: `get`, `list` (namespaced
  and across namespaces) and `watch` (`?watch=true`: a chunked stream of
  `{"type": "ADDED|MODIFIED|DELETED", "object": ...}` lines, polled from the state);
* `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`), `fieldSelector`
  (`metadata.name`, `metadata.namespace`, and per resource the fields the real server
  supports, e.g. `involvedObject.*`, `type`, `reason` for events, `spec.nodeName`,
  `status.phase` for pods; any other field is a 400 like the real one);
* `limit`/`continue` pagination with opaque tokens (base64 JSON of the resource version
  and the next key); a token the server did not issue, or one issued before
  `compact()`, is a **410 Gone** `Status` (reason `Expired`);
* `Accept: ...;as=Table;g=meta.k8s.io;v=v1` (what `kubectl get` asks for): a
  `Table` with the columns the real server prints; `as=PartialObjectMetadata[List]`:
  metadata only (what a careful client asks for when reading Secrets);
* auth: `Authorization: Bearer <token>` on everything but `/version` and the health
  endpoints, else **401**; RBAC by `forbid(resource, verb)`, a **403** `Status` with
  the real message (`pods is forbidden: User "..." cannot list resource ...`).

Errors are `kind: Status` bodies as the API server sends them. The state is plain
Python the test mutates through helpers (`add_deployment`, `rollout`, `oom_kill`,
`crash_loop`, `add_event`, `add_hpa`, `update_configmap`, ...); every mutation bumps the
global resource version, so watches and continue tokens behave.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import select
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.contract_servers.base import ContractServer, Reply, Request

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
GIT_VERSION = "v1.32.4"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def age(ts: str | None, now: datetime | None = None) -> str:
    """`5m`, `3h`, `2d` as the server's Table printer writes ages."""
    if not ts:
        return "<unknown>"
    secs = int(((now or datetime.now(UTC)) - _parse_iso(ts)).total_seconds())
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    if secs < 3600 * 3:
        return f"{secs // 60}m"
    if secs < 86400 * 2:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


@dataclass(frozen=True)
class Res:
    plural: str
    group: str
    version: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    """Field-selector keys beyond metadata.name / metadata.namespace."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
RESOURCES: dict[str, Res] = {
    r.plural: r
    for r in (
        Res("pods", "", "v1", "Pod", True, ("po",), ("spec.nodeName", "status.phase")),
        Res("events", "", "v1", "Event", True, ("ev",), _EVENT_FIELDS),
        Res("namespaces", "", "v1", "Namespace", False, ("ns",), ("status.phase",)),
        Res("nodes", "", "v1", "Node", False, ("no",), ("spec.unschedulable",)),
        Res("configmaps", "", "v1", "ConfigMap", True, ("cm",)),
        Res("secrets", "", "v1", "Secret", True, (), ("type",)),
        Res("deployments", "apps", "v1", "Deployment", True, ("deploy",)),
        Res("replicasets", "apps", "v1", "ReplicaSet", True, ("rs",)),
        Res(
            "horizontalpodautoscalers",
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            True,
            ("hpa",),
        ),
    )
}
GROUPS = {"apps": "v1", "autoscaling": "v2"}


def status_body(code: int, reason: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


class SelectorError(ValueError):
    pass


_REQ = re.compile(
    r"\s*(!?)\s*([A-Za-z0-9._/-]+)(?:\s*(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?"
    r"\s*"
)


def parse_label_selector(sel: str) -> list[tuple[str, str, set[str]]]:
    """`a=b,c!=d,e in (x,y),f notin (z),g,!h` → [(key, op, values)]."""
    out: list[tuple[str, str, set[str]]] = []
    pos = 0
    sel = sel.strip()
    while pos < len(sel):
        m = _REQ.match(sel, pos)
        if not m or m.end() == pos:
            raise SelectorError(f"unable to parse requirement: {sel[pos:]!r}")
        neg, key, op, val, setop, vals = m.groups()
        if neg and (op or setop):
            raise SelectorError(f"unable to parse requirement: {sel[pos:]!r}")
        if op:
            out.append((key, "!=" if op == "!=" else "=", {val}))
        elif setop:
            out.append((key, setop, {v.strip() for v in vals.split(",") if v.strip()}))
        else:
            out.append((key, "!exists" if neg else "exists", set()))
        pos = m.end()
        if pos < len(sel):
            if sel[pos] != ",":
                raise SelectorError(f"found '{sel[pos]}', expected: ',' or 'end of string'")
            pos += 1
    return out


def label_match(labels: dict[str, str], reqs: list[tuple[str, str, set[str]]]) -> bool:
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "=" and v not in vals:
            return False
        if op == "!=" and v in vals:  # != matches objects without the key, like the API
            return False
        if op == "in" and v not in vals:
            return False
        if op == "notin" and have and v in vals:
            return False
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
    return True


def parse_field_selector(sel: str, res: Res) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for part in (p for p in sel.split(",") if p.strip()):
        m = re.fullmatch(r"\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise SelectorError(f"invalid selector: '{sel}'; can't understand '{part}'")
        key, op, val = m.groups()
        if key not in ("metadata.name", "metadata.namespace", *res.fields):
            raise SelectorError(
                f'field label "{key}" not supported for {res.kind}'
                if res.plural != "events"
                else f"field label not supported: {key}"
            )
        out.append((key, op == "!=", val))
    return out


def _dig(obj: Any, path: str) -> str:
    if path == "source":  # events: source.component
        return str((obj.get("source") or {}).get("component") or "")
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def field_match(obj: dict[str, Any], reqs: list[tuple[str, bool, str]]) -> bool:
    return all((_dig(obj, k) == v) != neg for k, neg, v in reqs)


@dataclass
class Watch(Reply):
    """A `?watch=true` answer: streamed by `KubeServer._send`."""

    res: Res | None = None
    ns: str | None = None
    labels: list[tuple[str, str, set[str]]] = field(default_factory=list)
    fields: list[tuple[str, bool, str]] = field(default_factory=list)
    since_rv: int = 0
    timeout_s: float = 30.0


@dataclass(frozen=True)
class Pki:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate
    (CN `aisre-client`), PEM files made with the openssl CLI."""

    ca: Path
    server_crt: Path
    server_key: Path
    client_crt: Path
    client_key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.server_crt), str(self.server_key))
        ctx.load_verify_locations(cafile=str(self.ca))
        ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate authenticates, if sent
        return ctx


def make_pki(d: Path) -> Pki:
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d, timeout=120)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=aisre-test-kube-ca",
    )
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client"):
        cn = "127.0.0.1" if who == "server" else "aisre-client"
        run("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN={cn}")
        run(
            "x509",
            "-req",
            "-in",
            f"{who}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{who}.pem",
            "-days",
            "2",
            "-extfile",
            f"{who}.ext",
        )
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key")


class KubeServer(ContractServer):
    """`pki`: serve HTTPS with its server certificate (kubectl sends a bearer token
    only over TLS); a client certificate with CN `client_cn` also authenticates."""

    name = "kubernetes"

    def __init__(
        self,
        token: str = "kube-test-token",
        user: str = "system:serviceaccount:aisre:reader",
        pki: Pki | None = None,
        client_cn: str = "aisre-client",
    ):
        self.token = token
        self.user = user
        self.client_cn = client_cn
        self._local = threading.local()
        self.store: dict[str, dict[tuple[str, str], dict[str, Any]]] = {r: {} for r in RESOURCES}
        self.rv = itertools.count(1000)
        self.last_rv = 1000
        self.forbidden: set[tuple[str, str]] = set()
        self.issued: set[str] = set()
        self.state_lock = threading.RLock()
        self.pod_seq = itertools.count(1)
        super().__init__(pki.server_context() if pki else None)
        self.add_namespace("default")
        self.add_namespace("kube-system")

    # ------------------------------------------------------------ state helpers

    def _bump(self) -> str:
        self.last_rv = next(self.rv)
        return str(self.last_rv)

    def _meta(
        self,
        name: str,
        ns: str | None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        created: datetime | None = None,
        manager: str = "kubectl-client-side-apply",
    ) -> dict[str, Any]:
        created = created or datetime.now(UTC)
        meta: dict[str, Any] = {
            "name": name,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "0",
            "creationTimestamp": iso(created),
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
            "managedFields": [
                {
                    "manager": manager,
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": iso(created),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {}, "f:spec": {}},
                }
            ],
        }
        if ns is not None:
            meta["namespace"] = ns
        return meta

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store (create or replace) an object; bumps its resourceVersion."""
        res = RESOURCES[resource]
        with self.state_lock:
            obj["kind"] = res.kind
            obj["apiVersion"] = res.api_version
            obj["metadata"]["resourceVersion"] = self._bump()
            meta = obj["metadata"]
            key = (meta.get("namespace", "") if res.namespaced else "", meta["name"])
            self.store[resource][key] = obj
        return obj

    def get(self, resource: str, name: str, ns: str = "") -> dict[str, Any]:
        return self.store[resource][(ns if RESOURCES[resource].namespaced else "", name)]

    def delete(self, resource: str, name: str, ns: str = "") -> None:
        with self.state_lock:
            key = (ns if RESOURCES[resource].namespaced else "", name)
            self.store[resource].pop(key, None)
            self._bump()

    def add_namespace(self, name: str) -> dict[str, Any]:
        return self.put(
            "namespaces",
            {
                "metadata": self._meta(name, None),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )

    def add_node(
        self,
        name: str,
        *,
        ready: bool = True,
        pressure: tuple[str, ...] = (),
        since: datetime | None = None,
    ) -> dict[str, Any]:
        since = since or datetime.now(UTC) - timedelta(days=3)
        conds = []
        for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            on = ctype in pressure
            conds.append(
                {
                    "type": ctype,
                    "status": "True" if on else "False",
                    "reason": f"KubeletHas{'Insufficient' if on else 'Sufficient'}"
                    + {"MemoryPressure": "Memory", "DiskPressure": "Disk", "PIDPressure": "PID"}[
                        ctype
                    ]
                    if not on
                    else f"KubeletHas{ctype}",
                    "message": f"kubelet has {ctype}" if on else f"kubelet has no {ctype}",
                    "lastHeartbeatTime": iso(datetime.now(UTC)),
                    "lastTransitionTime": iso(since),
                }
            )
        conds.append(
            {
                "type": "Ready",
                "status": "True" if ready else "Unknown",
                "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                "message": "kubelet is posting ready status"
                if ready
                else "Kubelet stopped posting node status.",
                "lastHeartbeatTime": iso(datetime.now(UTC)),
                "lastTransitionTime": iso(since),
            }
        )
        return self.put(
            "nodes",
            {
                "metadata": self._meta(
                    name,
                    None,
                    {"kubernetes.io/hostname": name},
                    created=datetime.now(UTC) - timedelta(days=30),
                ),
                "spec": {"podCIDR": "10.244.0.0/24"},
                "status": {
                    "conditions": conds,
                    "addresses": [
                        {"type": "InternalIP", "address": "10.0.0.10"},
                        {"type": "Hostname", "address": name},
                    ],
                    "nodeInfo": {
                        "kubeletVersion": GIT_VERSION,
                        "osImage": "Debian GNU/Linux 12",
                        "containerRuntimeVersion": "containerd://1.7.0",
                        "kernelVersion": "6.1.0",
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                    },
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "allocatable": {"cpu": "4", "memory": "15Gi", "pods": "110"},
                },
            },
        )

    def set_node_condition(
        self,
        name: str,
        ctype: str,
        status: str,
        at: datetime | None = None,
        reason: str = "",
        message: str = "",
    ) -> None:
        with self.state_lock:
            node = copy.deepcopy(self.get("nodes", name))
            for c in node["status"]["conditions"]:
                if c["type"] == ctype:
                    c.update(status=status, lastTransitionTime=iso(at or datetime.now(UTC)))
                    if reason:
                        c["reason"] = reason
                    if message:
                        c["message"] = message
            self.put("nodes", node)

    def add_configmap(
        self, ns: str, name: str, data: dict[str, str], *, created: datetime | None = None
    ) -> dict[str, Any]:
        return self.put(
            "configmaps", {"metadata": self._meta(name, ns, created=created), "data": dict(data)}
        )

    def add_secret(
        self, ns: str, name: str, data: dict[str, str], *, created: datetime | None = None
    ) -> dict[str, Any]:
        enc = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        return self.put(
            "secrets",
            {"metadata": self._meta(name, ns, created=created), "type": "Opaque", "data": enc},
        )

    def update_configmap(
        self,
        ns: str,
        name: str,
        data: dict[str, str],
        *,
        at: datetime | None = None,
        manager: str = "kubectl-edit",
        resource: str = "configmaps",
    ) -> dict[str, Any]:
        """Change a ConfigMap (or Secret, `resource="secrets"`): managedFields get the
        manager and time of the update, as the API server records them."""
        at = at or datetime.now(UTC)
        with self.state_lock:
            obj = copy.deepcopy(self.get(resource, name, ns))
            if resource == "secrets":
                obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            else:
                obj["data"] = dict(data)
            mf = [m for m in obj["metadata"]["managedFields"] if m["manager"] != manager]
            mf.append(
                {
                    "manager": manager,
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": iso(at),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {f"f:{k}": {} for k in data}},
                }
            )
            obj["metadata"]["managedFields"] = mf
            return self.put(resource, obj)

    @staticmethod
    def _hash(template: dict[str, Any]) -> str:
        h = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        return "".join(alphabet[int(h[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))

    def add_deployment(
        self,
        ns: str,
        name: str,
        image: str,
        *,
        labels: dict[str, str] | None = None,
        replicas: int = 2,
        node: str = "node-1",
        created: datetime | None = None,
        env: list[dict[str, Any]] | None = None,
        env_from: list[dict[str, Any]] | None = None,
        volumes: list[dict[str, Any]] | None = None,
        change_cause: str | None = None,
        manager: str = "kubectl-client-side-apply",
    ) -> dict[str, Any]:
        """A Deployment at revision 1 with its ReplicaSet and running pods."""
        created = created or datetime.now(UTC) - timedelta(days=2)
        labels = labels or {"app.kubernetes.io/name": name}
        container: dict[str, Any] = {
            "name": name,
            "image": image,
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m"}},
        }
        if env:
            container["env"] = env
        if env_from:
            container["envFrom"] = env_from
        template: dict[str, Any] = {
            "metadata": {"labels": dict(labels)},
            "spec": {"containers": [container], "restartPolicy": "Always"},
        }
        if volumes:
            template["spec"]["volumes"] = volumes
        ann = {REVISION: "1"}
        if change_cause:
            ann[CHANGE_CAUSE] = change_cause
        meta = self._meta(name, ns, labels, ann, created, manager)
        meta["generation"] = 1
        meta["managedFields"][0]["fieldsV1"] = {"f:spec": {"f:template": {}}}
        dep = {
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(labels)},
                "template": template,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": {},
        }
        dep["_node"] = node
        self.put("deployments", dep)
        self._new_rs(dep, 1, created, change_cause)
        self._settle(ns, name, created)
        return self.get("deployments", name, ns)

    def _new_rs(
        self, dep: dict[str, Any], revision: int, at: datetime, change_cause: str | None
    ) -> dict[str, Any]:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        tmpl = copy.deepcopy(dep["spec"]["template"])
        h = self._hash(tmpl)
        tmpl["metadata"]["labels"]["pod-template-hash"] = h
        rs_name = f"{name}-{h}"
        ann = {
            REVISION: str(revision),
            "deployment.kubernetes.io/desired-replicas": str(dep["spec"]["replicas"]),
            "deployment.kubernetes.io/max-replicas": str(dep["spec"]["replicas"] + 1),
        }
        if change_cause:
            ann[CHANGE_CAUSE] = change_cause
        existing = self.store["replicasets"].get((ns, rs_name))
        if existing is not None:  # a rollback: the old ReplicaSet gets the new revision
            rs = copy.deepcopy(existing)
            old = rs["metadata"]["annotations"].get(REVISION)
            rs["metadata"]["annotations"].update(ann)
            if old:
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = old
            rs["metadata"]["managedFields"].append(
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": iso(at),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:annotations": {f"f:{REVISION}": {}}}},
                }
            )
        else:
            meta = self._meta(
                rs_name, ns, tmpl["metadata"]["labels"], ann, at, "kube-controller-manager"
            )
            meta["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": dep["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            meta["generation"] = 1
            rs = {
                "metadata": meta,
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": dict(tmpl["metadata"]["labels"])},
                    "template": tmpl,
                },
                "status": {"replicas": 0, "observedGeneration": 1},
            }
        return self.put("replicasets", rs)

    def _settle(self, ns: str, name: str, at: datetime) -> None:
        """Finish the rollout: the newest ReplicaSet has every replica, old ones none,
        the pods match, the Deployment status says complete."""
        with self.state_lock:
            dep = copy.deepcopy(self.get("deployments", name, ns))
            rss = self.owned_replicasets(dep)
            newest = max(rss, key=lambda r: int(r["metadata"]["annotations"][REVISION]))
            want = dep["spec"]["replicas"]
            for rs in rss:
                n = want if rs["metadata"]["name"] == newest["metadata"]["name"] else 0
                rs = copy.deepcopy(rs)
                rs["spec"]["replicas"] = n
                rs["status"] = {
                    "replicas": n,
                    "fullyLabeledReplicas": n,
                    "readyReplicas": n,
                    "availableReplicas": n,
                    "observedGeneration": rs["metadata"].get("generation", 1),
                }
                if n == 0:
                    rs["status"] = {
                        "replicas": 0,
                        "observedGeneration": rs["metadata"].get("generation", 1),
                    }
                self.put("replicasets", rs)
                self._sync_pods(rs, dep.get("_node", "node-1"), at)
            dep["status"] = {
                "observedGeneration": dep["metadata"]["generation"],
                "replicas": want,
                "updatedReplicas": want,
                "readyReplicas": want,
                "availableReplicas": want,
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True",
                        "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability.",
                        "lastUpdateTime": iso(at),
                        "lastTransitionTime": iso(at),
                    },
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "NewReplicaSetAvailable",
                        "message": f'ReplicaSet "{newest["metadata"]["name"]}" has successfully'
                        " progressed.",
                        "lastUpdateTime": iso(at),
                        "lastTransitionTime": iso(at),
                    },
                ],
            }
            self.put("deployments", dep)

    def owned_replicasets(self, dep: dict[str, Any]) -> list[dict[str, Any]]:
        uid = dep["metadata"]["uid"]
        return [
            rs
            for rs in self.store["replicasets"].values()
            if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences", []))
        ]

    def _sync_pods(self, rs: dict[str, Any], node: str, at: datetime) -> None:
        ns = rs["metadata"]["namespace"]
        uid = rs["metadata"]["uid"]
        mine = [
            p
            for p in self.store["pods"].values()
            if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences", []))
        ]
        want = rs["spec"]["replicas"]
        for p in mine[want:]:
            self.delete("pods", p["metadata"]["name"], ns)
        for _ in range(want - len(mine)):
            self._new_pod(rs, node, at)

    def _new_pod(self, rs: dict[str, Any], node: str, at: datetime) -> dict[str, Any]:
        ns = rs["metadata"]["namespace"]
        suffix = hashlib.sha1(f"{rs['metadata']['uid']}{next(self.pod_seq)}".encode()).hexdigest()
        name = f"{rs['metadata']['name']}-{suffix[:5]}"
        spec = copy.deepcopy(rs["spec"]["template"]["spec"])
        spec["nodeName"] = node
        meta = self._meta(
            name,
            ns,
            rs["spec"]["template"]["metadata"]["labels"],
            {},
            at,
            "kube-controller-manager",
        )
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": rs["metadata"]["name"],
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        statuses = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": f"docker.io/{c['image']}@sha256:" + "0" * 64,
                "containerID": "containerd://" + "a" * 64,
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": iso(at)}},
                "lastState": {},
            }
            for c in spec["containers"]
        ]
        pod = {
            "metadata": meta,
            "spec": spec,
            "status": {
                "phase": "Running",
                "conditions": [
                    {
                        "type": t,
                        "status": "True",
                        "lastProbeTime": None,
                        "lastTransitionTime": iso(at),
                    }
                    for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                ],
                "hostIP": "10.0.0.10",
                "podIP": f"10.244.0.{next(self.pod_seq) % 250 + 2}",
                "startTime": iso(at),
                "qosClass": "Burstable",
                "containerStatuses": statuses,
            },
        }
        return self.put("pods", pod)

    def rollout(
        self,
        ns: str,
        name: str,
        *,
        image: str | None = None,
        env: list[dict[str, Any]] | None = None,
        at: datetime | None = None,
        manager: str = "kubectl-set",
        change_cause: str | None = None,
        finish: bool = True,
    ) -> dict[str, Any]:
        """Change the pod template (image and/or env) as `kubectl set image` would: the
        Deployment's generation goes up, a new ReplicaSet gets the next revision (or,
        for a template seen before, the old one is re-used: a rollback), and with
        `finish` the pods are replaced and the status says complete."""
        at = at or datetime.now(UTC)
        with self.state_lock:
            dep = copy.deepcopy(self.get("deployments", name, ns))
            c = dep["spec"]["template"]["spec"]["containers"][0]
            if image is not None:
                c["image"] = image
            if env is not None:
                c["env"] = env
            dep["metadata"]["generation"] += 1
            rev = 1 + max(
                int(r["metadata"]["annotations"][REVISION]) for r in self.owned_replicasets(dep)
            )
            dep["metadata"]["annotations"][REVISION] = str(rev)
            if change_cause:
                dep["metadata"]["annotations"][CHANGE_CAUSE] = change_cause
            else:
                dep["metadata"]["annotations"].pop(CHANGE_CAUSE, None)
            mf = [m for m in dep["metadata"]["managedFields"] if m["manager"] != manager]
            mf.append(
                {
                    "manager": manager,
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": iso(at),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:template": {"f:spec": {}}}},
                }
            )
            dep["metadata"]["managedFields"] = mf
            if not finish:
                dep["status"]["updatedReplicas"] = 0
            self.put("deployments", dep)
            self._new_rs(dep, rev, at, change_cause)
            if finish:
                self._settle(ns, name, at)
            return self.get("deployments", name, ns)

    def stall_rollout(self, ns: str, name: str, at: datetime | None = None) -> dict[str, Any]:
        """The controller gave up on an unfinished rollout: Progressing=False with reason
        ProgressDeadlineExceeded (what `kubectl rollout status` fails on)."""
        at = at or datetime.now(UTC)
        with self.state_lock:
            dep = copy.deepcopy(self.get("deployments", name, ns))
            rss = self.owned_replicasets(dep)
            newest = max(rss, key=lambda r: int(r["metadata"]["annotations"][REVISION]))
            st = dep["status"]
            st["observedGeneration"] = dep["metadata"]["generation"]
            st["updatedReplicas"] = 1
            st["unavailableReplicas"] = 1
            for c in st.get("conditions", []):
                if c["type"] == "Progressing":
                    c.update(
                        status="False",
                        reason="ProgressDeadlineExceeded",
                        message=f'ReplicaSet "{newest["metadata"]["name"]}" has timed out'
                        " progressing.",
                        lastUpdateTime=iso(at),
                        lastTransitionTime=iso(at),
                    )
            return self.put("deployments", dep)

    def finish_rollout(self, ns: str, name: str, at: datetime | None = None) -> None:
        self._settle(ns, name, at or datetime.now(UTC))

    def pods_of(self, ns: str, app: str) -> list[dict[str, Any]]:
        return sorted(
            (
                p
                for (pns, _), p in self.store["pods"].items()
                if pns == ns and app in p["metadata"]["labels"].values()
            ),
            key=lambda p: p["metadata"]["name"],
        )

    def _mutate_pod(self, ns: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.get("pods", name, ns))

    def oom_kill(
        self,
        ns: str,
        pod: str,
        *,
        at: datetime | None = None,
        reason: str = "OOMKilled",
        exit_code: int = 137,
        crash_loop: bool = True,
    ) -> dict[str, Any]:
        """The container was killed (OOMKilled, exit 137) and restarted; with
        `crash_loop` it now waits in CrashLoopBackOff, and the kubelet's BackOff
        event is recorded."""
        at = at or datetime.now(UTC)
        with self.state_lock:
            p = self._mutate_pod(ns, pod)
            cs = p["status"]["containerStatuses"][0]
            cs["restartCount"] += 1
            cs["lastState"] = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": reason,
                    "startedAt": iso(at - timedelta(minutes=3)),
                    "finishedAt": iso(at),
                    "containerID": "containerd://" + "b" * 64,
                }
            }
            if crash_loop:
                cs["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 40s restarting failed container={cs['name']}"
                        f" pod={pod}_{ns}({p['metadata']['uid']})",
                    }
                }
                cs["ready"] = False
                cs["started"] = False
                for c in p["status"]["conditions"]:
                    if c["type"] in ("Ready", "ContainersReady"):
                        c.update(
                            status="False",
                            reason="ContainersNotReady",
                            message=f"containers with unready status: [{cs['name']}]",
                            lastTransitionTime=iso(at),
                        )
            else:
                cs["state"] = {"running": {"startedAt": iso(at + timedelta(seconds=1))}}
            self.put("pods", p)
            if crash_loop:
                self.add_event(
                    ns,
                    "Pod",
                    pod,
                    "BackOff",
                    f"Back-off restarting failed container {cs['name']} in pod"
                    f" {pod}_{ns}({p['metadata']['uid']})",
                    at=at,
                    count=4,
                    component="kubelet",
                )
            return p

    def crash_loop(
        self,
        ns: str,
        pod: str,
        reason: str = "CrashLoopBackOff",
        message: str = "",
        at: datetime | None = None,
    ) -> dict[str, Any]:
        at = at or datetime.now(UTC)
        with self.state_lock:
            p = self._mutate_pod(ns, pod)
            cs = p["status"]["containerStatuses"][0]
            cs["state"] = {"waiting": {"reason": reason, "message": message or reason}}
            cs["ready"] = False
            for c in p["status"]["conditions"]:
                if c["type"] in ("Ready", "ContainersReady"):
                    c.update(
                        status="False", reason="ContainersNotReady", lastTransitionTime=iso(at)
                    )
            return self.put("pods", p)

    def evict(self, ns: str, pod: str, at: datetime | None = None) -> dict[str, Any]:
        at = at or datetime.now(UTC)
        with self.state_lock:
            p = self._mutate_pod(ns, pod)
            p["status"]["phase"] = "Failed"
            p["status"]["reason"] = "Evicted"
            p["status"]["message"] = "The node was low on resource: memory."
            self.put("pods", p)
            self.add_event(
                ns, "Pod", pod, "Evicted", p["status"]["message"], at=at, component="kubelet"
            )
            return p

    def add_event(
        self,
        ns: str,
        kind: str,
        obj_name: str,
        reason: str,
        message: str,
        *,
        type_: str = "Warning",
        at: datetime | None = None,
        first: datetime | None = None,
        count: int = 1,
        component: str = "kubelet",
        uid: str | None = None,
    ) -> dict[str, Any]:
        at = at or datetime.now(UTC)
        first = first or at
        if uid is None:
            res = {r.kind: r for r in RESOURCES.values()}.get(kind)
            if res is not None:
                o = self.store[res.plural].get((ns if res.namespaced else "", obj_name))
                uid = o["metadata"]["uid"] if o else None
        name = f"{obj_name}.{int(at.timestamp() * 1e9):x}"
        ev = {
            "metadata": self._meta(name, ns, created=first, manager=component),
            "involvedObject": {
                "kind": kind,
                "namespace": ns if kind != "Node" else "",
                "name": obj_name,
                "uid": uid or "",
                "apiVersion": "apps/v1" if kind in ("Deployment", "ReplicaSet") else "v1",
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": iso(first),
            "lastTimestamp": iso(at),
            "count": count,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        if kind == "Pod":
            ev["involvedObject"]["fieldPath"] = "spec.containers{app}"
        return self.put("events", ev)

    def add_hpa(
        self,
        ns: str,
        name: str,
        target: str,
        *,
        min_replicas: int = 2,
        max_replicas: int = 5,
        current: int = 2,
        desired: int | None = None,
        last_scale: datetime | None = None,
    ) -> dict[str, Any]:
        desired = current if desired is None else desired
        conds = [
            {
                "type": "AbleToScale",
                "status": "True",
                "reason": "ReadyForNewScale",
                "lastTransitionTime": iso(datetime.now(UTC)),
            }
        ]
        if desired >= max_replicas:
            conds.append(
                {
                    "type": "ScalingLimited",
                    "status": "True",
                    "reason": "TooManyReplicas",
                    "message": "the desired replica count is more than the maximum replica count",
                    "lastTransitionTime": iso(last_scale or datetime.now(UTC)),
                }
            )
        st: dict[str, Any] = {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "conditions": conds,
        }
        if last_scale is not None:
            st["lastScaleTime"] = iso(last_scale)
        return self.put(
            "horizontalpodautoscalers",
            {
                "metadata": self._meta(name, ns),
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": target,
                    },
                    "minReplicas": min_replicas,
                    "maxReplicas": max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70},
                            },
                        }
                    ],
                },
                "status": st,
            },
        )

    # ------------------------------------------------------------ access control

    def forbid(self, resource: str, verbs: tuple[str, ...] = ("get", "list", "watch")) -> None:
        for v in verbs:
            self.forbidden.add((resource, v))

    def allow_all(self) -> None:
        self.forbidden.clear()

    def compact(self) -> None:
        """Forget every continue token issued so far (etcd compaction): the next
        request with one of them is a 410 Gone."""
        with self.state_lock:
            self.issued.clear()

    # ------------------------------------------------------------ HTTP

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        cert = None
        if isinstance(h.connection, ssl.SSLSocket):
            try:
                cert = h.connection.getpeercert()
            except ValueError:
                cert = None
        self._local.cert = cert
        super()._dispatch(h)

    def _authenticated(self, req: Request) -> bool:
        if req.headers.get("authorization", "") == f"Bearer {self.token}":
            return True
        cert = getattr(self._local, "cert", None)
        if cert:
            subject = dict(x[0] for x in cert.get("subject", ()))
            return subject.get("commonName") == self.client_cn
        return False

    def error_body(self, status: int, message: str) -> Any:
        reason = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "NotFound",
            410: "Expired",
            429: "TooManyRequests",
            500: "InternalError",
            503: "ServiceUnavailable",
        }
        return status_body(status, reason.get(status, "Unknown"), message)

    def route(self, req: Request) -> Reply:
        path = req.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return Reply(200, raw=b"ok", headers={"Content-Type": "text/plain"})
        if path == "/version":
            return Reply(
                200,
                {
                    "major": "1",
                    "minor": "32",
                    "gitVersion": GIT_VERSION,
                    "gitCommit": "0" * 40,
                    "gitTreeState": "clean",
                    "buildDate": "2025-04-22T16:03:02Z",
                    "goVersion": "go1.23.8",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                },
            )
        if not self._authenticated(req):
            return Reply(401, status_body(401, "Unauthorized", "Unauthorized"))
        if path == "/api":
            return Reply(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
                    ],
                },
            )
        if path == "/apis":
            return Reply(
                200,
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": g,
                            "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                            "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                        }
                        for g, v in GROUPS.items()
                    ],
                },
            )
        if path == "/api/v1":
            return self._discovery("v1", "")
        m = re.fullmatch(r"/apis/([^/]+)/([^/]+)", path)
        if m and GROUPS.get(m.group(1)) == m.group(2):
            return self._discovery(f"{m.group(1)}/{m.group(2)}", m.group(1))
        if path.startswith("/api/v1/"):
            group, rest = "", path[len("/api/v1/") :].split("/")
        else:
            m = re.fullmatch(r"/apis/([^/]+)/([^/]+)/(.+)", path)
            if not m or GROUPS.get(m.group(1)) != m.group(2):
                return self._not_found_path(path)
            group, rest = m.group(1), m.group(3).split("/")
        ns: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and group == "":
            ns, rest = rest[1], rest[2:]
        elif rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        if len(rest) > 2:
            return self._not_found_path(path)
        res = RESOURCES.get(rest[0])
        if res is None or res.group != group or (ns is not None and not res.namespaced):
            return self._not_found_path(path)
        name = rest[1] if len(rest) == 2 else None
        if req.method not in ("GET", "HEAD"):
            return Reply(
                405,
                status_body(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                ),
            )
        watch = req.q("watch") in ("true", "1")
        verb = "watch" if watch else ("get" if name else "list")
        if (res.plural, verb) in self.forbidden:
            where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
            what = f'{res.plural} "{name}"' if name else res.plural
            return Reply(
                403,
                status_body(
                    403,
                    "Forbidden",
                    f'{what} is forbidden: User "{self.user}" cannot {verb} resource'
                    f' "{res.plural}" in API group "{res.group}"{where}',
                    {"name": name, "kind": res.plural} if name else {"kind": res.plural},
                ),
            )
        if name is not None:
            return self._get(req, res, ns or "", name)
        try:
            labels = parse_label_selector(req.q("labelSelector") or "")
            fields = parse_field_selector(req.q("fieldSelector") or "", res)
        except SelectorError as exc:
            return Reply(400, status_body(400, "BadRequest", str(exc)))
        if watch:
            # a field selector on metadata.name of a namespaced watch is what
            # `kubectl rollout status` sends
            rv = req.q("resourceVersion") or "0"
            return Watch(
                200,
                res=res,
                ns=ns,
                labels=labels,
                fields=fields,
                since_rv=int(rv) if rv.isdigit() else 0,
                timeout_s=min(float(req.q("timeoutSeconds") or 30), 30.0),
            )
        return self._list(req, res, ns, labels, fields)

    def _not_found_path(self, path: str) -> Reply:
        return Reply(
            404,
            status_body(404, "NotFound", "the server could not find the requested resource", {}),
        )

    def _discovery(self, gv: str, group: str) -> Reply:
        resources = []
        for r in RESOURCES.values():
            if r.group != group:
                continue
            resources.append(
                {
                    "name": r.plural,
                    "singularName": r.singular,
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "list", "watch"],
                    **({"shortNames": list(r.short)} if r.short else {}),
                    **(
                        {"categories": ["all"]}
                        if r.plural
                        in ("pods", "deployments", "replicasets", "horizontalpodautoscalers")
                        else {}
                    ),
                }
            )
        return Reply(
            200,
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": resources,
            },
        )

    @staticmethod
    def _as(req: Request) -> str:
        acc = req.headers.get("accept", "")
        for part in acc.split(","):
            if "as=Table" in part and "g=meta.k8s.io" in part and "v=v1;" in part + ";":
                return "Table"
            if "as=PartialObjectMetadata" in part and "g=meta.k8s.io" in part:
                return "PartialObjectMetadata"
            if part.strip().startswith(("application/json", "*/*")) and "as=" not in part:
                return ""
        return ""

    @staticmethod
    def public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _get(self, req: Request, res: Res, ns: str, name: str) -> Reply:
        obj = self.store[res.plural].get((ns if res.namespaced else "", name))
        if obj is None:
            return Reply(
                404,
                status_body(
                    404,
                    "NotFound",
                    f"{res.plural}.{res.group or ''}".rstrip(".") + f' "{name}" not found',
                    {"name": name, "kind": res.plural},
                ),
            )
        obj = self.public(copy.deepcopy(obj))
        shape = self._as(req)
        if shape == "Table":
            return Reply(200, self._table(res, [obj], str(self.last_rv), None, None))
        if shape == "PartialObjectMetadata":
            return Reply(
                200,
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                },
            )
        return Reply(200, obj)

    def _token(self, rv: int, key: tuple[str, str]) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": f"{key[0]}/{key[1]}\x00"})
        tok = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        self.issued.add(tok)
        return tok

    def _list(
        self,
        req: Request,
        res: Res,
        ns: str | None,
        labels: list[tuple[str, str, set[str]]],
        fields: list[tuple[str, bool, str]],
    ) -> Reply:
        cont = req.q("continue") or ""
        start: tuple[str, str] | None = None
        with self.state_lock:
            if cont:
                try:
                    pad = "=" * (-len(cont) % 4)
                    decoded = json.loads(base64.urlsafe_b64decode(cont + pad))
                    s = decoded["start"].rstrip("\x00")
                    start = (s.split("/", 1)[0], s.split("/", 1)[1])
                except (ValueError, KeyError, IndexError):
                    return Reply(
                        400,
                        status_body(
                            400,
                            "BadRequest",
                            "continue key is not valid: illegal base64 data at input byte 0",
                        ),
                    )
                if cont not in self.issued:
                    return Reply(
                        410,
                        {
                            **status_body(
                                410,
                                "Expired",
                                "The provided continue parameter is too old to display a"
                                " consistent list result. You can start a new list without the"
                                " continue parameter, or use the continue token in this response"
                                " to retrieve the remainder of the results. Continuing with the"
                                " provided token results in an inconsistent list - objects that"
                                " were created, modified, or deleted between the time the first"
                                " chunk was returned and now may show up in the list.",
                            ),
                            "metadata": {"continue": self._token(self.last_rv, start)},
                        },
                    )
            items = [
                (key, o)
                for key, o in sorted(self.store[res.plural].items())
                if (ns is None or key[0] == ns)
                and (start is None or key > start)
                and label_match(o["metadata"].get("labels") or {}, labels)
                and field_match(o, fields)
            ]
            limit_s = req.q("limit") or ""
            limit = int(limit_s) if limit_s.isdigit() and int(limit_s) > 0 else 0
            meta: dict[str, Any] = {"resourceVersion": str(self.last_rv)}
            if limit and len(items) > limit:
                page = items[:limit]
                meta["continue"] = self._token(self.last_rv, page[-1][0])
                meta["remainingItemCount"] = len(items) - limit
            else:
                page = items
            objs = [self.public(copy.deepcopy(o)) for _, o in page]
        shape = self._as(req)
        if shape == "Table":
            return Reply(
                200,
                self._table(
                    res,
                    objs,
                    meta["resourceVersion"],
                    meta.get("continue"),
                    meta.get("remainingItemCount"),
                ),
            )
        if shape == "PartialObjectMetadata":
            return Reply(
                200,
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                    "items": [
                        {
                            "kind": "PartialObjectMetadata",
                            "apiVersion": "meta.k8s.io/v1",
                            "metadata": o["metadata"],
                        }
                        for o in objs
                    ],
                },
            )
        for o in objs:  # items of a list carry no kind/apiVersion, like the real server
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return Reply(
            200,
            {
                "kind": f"{res.kind}List",
                "apiVersion": res.api_version,
                "metadata": meta,
                "items": objs,
            },
        )

    # ------------------------------------------------------------ Table printing

    def _table(
        self, res: Res, objs: list[dict[str, Any]], rv: str, cont: str | None, remaining: int | None
    ) -> dict[str, Any]:
        cols, cells = _COLUMNS.get(res.plural, _COLUMNS["*"])
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
            meta["remainingItemCount"] = remaining
        now = datetime.now(UTC)
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "columnDefinitions": [
                {
                    "name": n,
                    "type": t,
                    "format": "name" if n == "Name" else "",
                    "description": d,
                    "priority": p,
                }
                for n, t, d, p in cols
            ],
            "rows": [
                {
                    "cells": cells(o, now),
                    "object": {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    },
                }
                for o in objs
            ],
        }

    # ------------------------------------------------------------ watch streaming

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply) -> None:
        if not isinstance(reply, Watch) or reply.res is None:
            super()._send(h, reply)
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        res = reply.res

        def snapshot() -> dict[tuple[str, str], dict[str, Any]]:
            with self.state_lock:
                return {
                    k: o
                    for k, o in self.store[res.plural].items()
                    if (reply.ns is None or k[0] == reply.ns)
                    and label_match(o["metadata"].get("labels") or {}, reply.labels)
                    and field_match(o, reply.fields)
                }

        def emit(kind: str, obj: dict[str, Any]) -> None:
            line = json.dumps({"type": kind, "object": self.public(obj)}).encode() + b"\n"
            h.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            h.wfile.flush()

        seen: dict[tuple[str, str], int] = {}
        for k, o in snapshot().items():
            rv = int(o["metadata"]["resourceVersion"])
            seen[k] = rv
            if rv > reply.since_rv:
                emit("ADDED" if reply.since_rv == 0 else "MODIFIED", o)
        end = time.monotonic() + reply.timeout_s
        sock = h.connection
        while time.monotonic() < end and not self.stopping.is_set():
            self.stopping.wait(0.05)
            if _peer_closed(sock):
                return
            cur = snapshot()
            for k, o in cur.items():
                rv = int(o["metadata"]["resourceVersion"])
                if k not in seen:
                    emit("ADDED", o)
                elif rv != seen[k]:
                    emit("MODIFIED", o)
                seen[k] = rv
            for k in [k for k in seen if k not in cur]:
                seen.pop(k)
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
        h.close_connection = True


def _peer_closed(sock: socket.socket) -> bool:
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


# ---------------------------------------------------------------- Table columns


def _pod_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    st = o.get("status", {})
    cs = st.get("containerStatuses", [])
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in cs)
    reason = st.get("reason") or st.get("phase", "Unknown")
    for c in cs:
        w = (c.get("state") or {}).get("waiting")
        if w and w.get("reason"):
            reason = w["reason"]
    last = [(c.get("lastState") or {}).get("terminated", {}).get("finishedAt") for c in cs]
    last_s = [x for x in last if x]
    rtxt = str(restarts)
    if restarts and last_s:
        rtxt += f" ({age(max(last_s), now)} ago)"
    return [
        o["metadata"]["name"],
        f"{ready}/{len(o['spec']['containers'])}",
        reason,
        rtxt,
        age(o["metadata"].get("creationTimestamp"), now),
        st.get("podIP", "<none>"),
        o["spec"].get("nodeName", "<none>"),
        "<none>",
        "<none>",
    ]


def _event_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    io = o["involvedObject"]
    return [
        age(o.get("lastTimestamp"), now),
        o.get("type", ""),
        o.get("reason", ""),
        f"{io['kind'].lower()}/{io['name']}",
        o.get("message", ""),
    ]


def _dep_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    st = o.get("status", {})
    c = o["spec"]["template"]["spec"]["containers"]
    return [
        o["metadata"]["name"],
        f"{st.get('readyReplicas', 0)}/{o['spec']['replicas']}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        age(o["metadata"].get("creationTimestamp"), now),
        ",".join(x["name"] for x in c),
        ",".join(x["image"] for x in c),
        ",".join(f"{k}={v}" for k, v in o["spec"]["selector"]["matchLabels"].items()),
    ]


def _rs_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    st = o.get("status", {})
    return [
        o["metadata"]["name"],
        o["spec"]["replicas"],
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def _hpa_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    ref = o["spec"]["scaleTargetRef"]
    return [
        o["metadata"]["name"],
        f"{ref['kind']}/{ref['name']}",
        "cpu: <unknown>/70%",
        o["spec"].get("minReplicas", 1),
        o["spec"]["maxReplicas"],
        o.get("status", {}).get("currentReplicas", 0),
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def _node_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    ready = next((c for c in o["status"]["conditions"] if c["type"] == "Ready"), {})
    status = "Ready" if ready.get("status") == "True" else "NotReady"
    return [
        o["metadata"]["name"],
        status,
        "<none>",
        age(o["metadata"].get("creationTimestamp"), now),
        GIT_VERSION,
    ]


def _generic_cells(o: dict[str, Any], now: datetime) -> list[Any]:
    return [o["metadata"]["name"], age(o["metadata"].get("creationTimestamp"), now)]


_N = "Name must be unique within a namespace."
_A = "CreationTimestamp is a timestamp representing the server time when this object was created."
_COLUMNS: dict[str, tuple[list[tuple[str, str, str, int]], Any]] = {
    "pods": (
        [
            ("Name", "string", _N, 0),
            ("Ready", "string", "The aggregate readiness state.", 0),
            ("Status", "string", "The aggregate status of the containers.", 0),
            ("Restarts", "string", "The number of times the containers have restarted.", 0),
            ("Age", "string", _A, 0),
            ("IP", "string", "IP address of the pod.", 1),
            ("Node", "string", "Name of the node.", 1),
            ("Nominated Node", "string", "Nominated node.", 1),
            ("Readiness Gates", "string", "Pod readiness gates.", 1),
        ],
        _pod_cells,
    ),
    "events": (
        [
            ("Last Seen", "string", "Time of the last occurrence.", 0),
            ("Type", "string", "Type of this event.", 0),
            ("Reason", "string", "Short, machine understandable reason.", 0),
            ("Object", "string", "The object this event is about.", 0),
            ("Message", "string", "A human-readable description.", 0),
        ],
        _event_cells,
    ),
    "deployments": (
        [
            ("Name", "string", _N, 0),
            ("Ready", "string", "Ready replicas.", 0),
            ("Up-to-date", "integer", "Updated replicas.", 0),
            ("Available", "integer", "Available replicas.", 0),
            ("Age", "string", _A, 0),
            ("Containers", "string", "Containers.", 1),
            ("Images", "string", "Images.", 1),
            ("Selector", "string", "Selector.", 1),
        ],
        _dep_cells,
    ),
    "replicasets": (
        [
            ("Name", "string", _N, 0),
            ("Desired", "integer", "Desired.", 0),
            ("Current", "integer", "Current.", 0),
            ("Ready", "integer", "Ready.", 0),
            ("Age", "string", _A, 0),
        ],
        _rs_cells,
    ),
    "horizontalpodautoscalers": (
        [
            ("Name", "string", _N, 0),
            ("Reference", "string", "Scale target.", 0),
            ("Targets", "string", "Metrics.", 0),
            ("MinPods", "string", "Min replicas.", 0),
            ("MaxPods", "integer", "Max replicas.", 0),
            ("Replicas", "integer", "Current replicas.", 0),
            ("Age", "string", _A, 0),
        ],
        _hpa_cells,
    ),
    "nodes": (
        [
            ("Name", "string", _N, 0),
            ("Status", "string", "Node status.", 0),
            ("Roles", "string", "Roles.", 0),
            ("Age", "string", _A, 0),
            ("Version", "string", "Kubelet version.", 0),
        ],
        _node_cells,
    ),
    "*": ([("Name", "string", _N, 0), ("Age", "string", _A, 0)], _generic_cells),
}


def kubeconfig(
    server: KubeServer | str,
    *,
    context: str = "test",
    namespace: str = "shop",
    token: str | None = "kube-test-token",
    user: dict[str, Any] | None = None,
    cluster_extra: dict[str, Any] | None = None,
    ca: Path | None = None,
) -> dict[str, Any]:
    """A kubeconfig dict with one cluster, user and context (token auth by default);
    `ca`: the cluster's CA, inlined as `certificate-authority-data`."""
    url = server.url if isinstance(server, KubeServer) else server
    cluster_extra = dict(cluster_extra or {})
    if ca is not None:
        cluster_extra["certificate-authority-data"] = base64.b64encode(ca.read_bytes()).decode()
    u: dict[str, Any] = dict(user or {})
    if token is not None and not u:
        u["token"] = token
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c1", "cluster": {"server": url, **(cluster_extra or {})}}],
        "users": [{"name": "u1", "user": u}],
        "contexts": [
            {"name": context, "context": {"cluster": "c1", "user": "u1", "namespace": namespace}}
        ],
        "current-context": "elsewhere-on-purpose",
        "preferences": {},
    }


def shop(server: KubeServer, ns: str = "shop", at: datetime | None = None) -> None:
    """A small namespace: checkout (2 pods) and cart (1 pod), both at revision 1."""
    server.add_namespace(ns)
    if ("", "node-1") not in server.store["nodes"]:
        server.add_node("node-1")
    server.add_configmap(
        ns,
        "checkout-config",
        {"POOL_SIZE": "10"},
        created=(at or datetime.now(UTC)) - timedelta(days=3),
    )
    server.add_secret(
        ns,
        "checkout-db",
        {"password": "hunter2-not-for-output"},
        created=(at or datetime.now(UTC)) - timedelta(days=3),
    )
    server.add_deployment(
        ns,
        "checkout",
        "shop/checkout:1.4.2",
        replicas=2,
        created=(at or datetime.now(UTC)) - timedelta(days=2),
        env_from=[{"configMapRef": {"name": "checkout-config"}}],
        env=[
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "checkout-db", "key": "password"}},
            }
        ],
    )
    server.add_deployment(
        ns,
        "cart",
        "shop/cart:2.0.0",
        replicas=1,
        labels={"app": "cart"},
        created=(at or datetime.now(UTC)) - timedelta(days=2),
    )
