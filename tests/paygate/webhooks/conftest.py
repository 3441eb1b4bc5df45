"""No test here reaches DNS or a non-loopback address; a TLS receiver with a test CA's certificate."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ssrf import FakeDns, LoopbackOnly, install

CERT_NAME = "hooks.shop.test"  # the only name the TLS receiver's certificate is valid for


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeDns, LoopbackOnly]:
    return install(monkeypatch)


@pytest.fixture
def dns(network: tuple[FakeDns, LoopbackOnly]) -> FakeDns:
    return network[0]


@pytest.fixture
def dials(network: tuple[FakeDns, LoopbackOnly]) -> list[tuple[str, int]]:
    return network[1].dialled


def _certificate(
    subject: str, key: Any, issuer: x509.Name, signer: Any, *, ca: bool, names: list[str]
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@dataclass
class TlsReceiver:
    port: int
    ca_file: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    server_names: list[str | None] = field(default_factory=list)  # SNI of every handshake

    def url(self, name: str, path: str = "/hook") -> str:
        return f"https://{name}:{self.port}{path}"


@pytest.fixture(scope="module")
def _tls_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paygate test CA")])
    ca = _certificate("paygate test CA", ca_key, ca_name, ca_key, ca=True, names=[])
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(CERT_NAME, key, ca_name, ca_key, ca=False, names=[CERT_NAME])
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_receiver(_tls_material: tuple[Path, Path, Path]) -> Iterator[TlsReceiver]:
    """An HTTPS server on 127.0.0.1 whose certificate, from a test CA, names CERT_NAME only."""
    ca_file, cert_file, key_file = _tls_material
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = TlsReceiver(server.server_address[1], str(ca_file))
    context.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)  # type: ignore[func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append((self.path, self.headers.get("Host", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
