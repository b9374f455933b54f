"""`aisre doctor` names the fix for a connection that fails below HTTP.

It said "check that URL is up and reachable" for a server that is up: one whose
certificate is self-signed, one that speaks plain HTTP behind an https:// URL, one that
answers something other than HTTP. Each now gets the fix that applies.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract_servers.cli import run_cli


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Json(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.dumps({"status": "success", "data": {"version": "2.50.0"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Garbage(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4096)
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, str]]:
    cert, key = _self_signed(tmp_path)
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    garbage = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Garbage)
    all_ = (tls, plain, garbage)
    for srv in all_:
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    def port(srv: socketserver.BaseServer) -> int:
        sock: socket.socket = srv.socket  # type: ignore[attr-defined]
        return int(sock.getsockname()[1])

    try:
        yield {
            "self_signed": f"https://127.0.0.1:{port(tls)}",
            "https_to_plain": f"https://127.0.0.1:{port(plain)}",
            "garbage": f"http://127.0.0.1:{port(garbage)}",
            "ca": str(cert),
            "tls_by_name": f"https://localhost:{port(tls)}",
        }
    finally:
        for srv in all_:
            srv.shutdown()
            srv.server_close()


def test_doctor_names_the_fix_for_tls_and_protocol_failures(servers: dict[str, str]) -> None:
    r = run_cli(
        [
            "config",
            "init",
            "-y",
            "--alertmanager-url",
            servers["self_signed"],
            "--prometheus-url",
            servers["https_to_plain"],
            "--loki-url",
            servers["garbage"],
        ]
    )
    assert r.code == 0, r.err
    r = run_cli(["doctor", "--json"])
    assert r.code == 3, r.out + r.err
    rows = {s["source"]: s for s in json.loads(r.out)["sources"]}
    assert "certificate" in rows["alertmanager"]["detail"]
    assert "sources.alertmanager.http.ca_file" in rows["alertmanager"]["hint"]
    assert "does not speak TLS" in rows["prometheus"]["hint"]
    assert "http://" in rows["prometheus"]["hint"]
    assert "does not answer HTTP" in rows["loki"]["hint"], rows["loki"]
    for row in rows.values():
        assert "is up and reachable" not in row["hint"]


def test_a_profile_made_with_the_ca_file_passes_doctor(servers: dict[str, str]) -> None:
    """The fix the hint names works: `config init --ca-file` makes a profile doctor takes."""
    r = run_cli(
        [
            "config",
            "init",
            "-y",
            "--prometheus-url",
            servers["tls_by_name"],
            "--ca-file",
            servers["ca"],
        ]
    )
    assert r.code == 0, r.err
    r = run_cli(["doctor", "--json"])
    rows = {s["source"]: s for s in json.loads(r.out)["sources"]}
    assert rows["prometheus"]["ok"], rows["prometheus"]
    assert r.code == 0, r.out + r.err


@pytest.mark.parametrize(
    ("detail", "expect"),
    [
        (
            "failed: TLS error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed:"
            " IP address mismatch, certificate is not valid for '127.0.0.1'.",
            "does not name this host",
        ),
        ("failed: connection refused", None),
        ("failed: DNS lookup failed", None),
    ],
)
def test_connection_hint_leaves_other_failures_alone(detail: str, expect: str | None) -> None:
    from aisre_cli.sources.http import transport_hint

    hint = transport_hint("prometheus", "https://127.0.0.1:9", detail)
    if expect is None:
        assert hint is None
    else:
        assert hint is not None and expect in hint


def test_every_command_gets_the_same_fix_not_only_doctor(servers: dict[str, str]) -> None:
    """The hint comes from the HTTP client (`sources.http.transport_hint`), so a triage
    whose Prometheus sits behind a wrong scheme is told the same as doctor."""
    from aisre_cli.errors import SourceError
    from aisre_cli.settings.config import HttpSettings
    from aisre_cli.sources.http import Http

    http = Http("prometheus", servers["https_to_plain"], HttpSettings(retries=0), budget_s=10)
    with pytest.raises(SourceError) as err:
        http.get_json("/api/v1/status/buildinfo")
    assert err.value.hint is not None and "does not speak TLS" in err.value.hint


def test_doctor_json_on_a_profile_without_sources_is_a_json_document() -> None:
    """`doctor --json` printed nothing on stdout for a profile with no source (the
    error went to stderr only), so `aisre doctor --json | jq` failed to parse. The
    document now carries the error; the exit code (2, a configuration problem) and the
    one-line error on stderr stay."""
    from aisre_cli.settings import paths

    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("version: 1\ndefault_profile: p\nprofiles:\n  p: {environment: prod}\n")
    r = run_cli(["doctor", "--json"])
    assert r.code == 2
    body = json.loads(r.out)
    assert body["schema"] == "aisre.doctor/v1" and body["profile"] == "p"
    assert body["sources"] == [] and "spool" in body
    assert body["error"]["message"].startswith("this profile configures no source")
    assert "config init" in body["error"]["hint"]
    assert "error: this profile configures no source" in r.err
    r = run_cli(["doctor"])  # the text form: the error and its hint only
    assert r.code == 2 and r.out == "" and "hint:" in r.err


def test_memory_migrate_json_on_failure_is_a_json_document() -> None:
    """`memory migrate --json` to an unreachable target printed nothing on stdout (the
    error went to stderr only); `memory status --json` already gave an `error` field."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"postgresql://aisre@127.0.0.1:{port}/team"
    r = run_cli(["memory", "migrate", "--to", url, "--json"])
    assert r.code == 3, r.err
    body = json.loads(r.out)
    assert body["schema"] == "aisre.memory.migrate/v1" and body["target"] == url
    assert "unreachable" in body["error"]["message"] and body["error"]["hint"]
    assert "error: " in r.err  # the one-line error stays
    assert run_cli(["memory", "migrate", "--to", url]).out == ""  # text: stderr only
