"""No test here reaches DNS or a non-loopback address; a TLS receiver with a test CA's certificate;
the webhooks table on moto behind a client that enforces DynamoDB's request rules."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from tests.paygate.webhooks.strict_dynamodb import StrictDynamoDB
from tests.support.ssrf import FakeDns, LoopbackOnly, install
from tests.support.template import table_definitions
from tests.support.tls_receiver import (
    CERT_NAME,
    TlsReceiver,
    make_certificate,
)


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeDns, LoopbackOnly]:
    return install(monkeypatch)


@pytest.fixture
def dns(network: tuple[FakeDns, LoopbackOnly]) -> FakeDns:
    return network[0]


@pytest.fixture
def dials(network: tuple[FakeDns, LoopbackOnly]) -> list[tuple[str, int]]:
    return network[1].dialled


@pytest.fixture(scope="module")
def _tls_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paygate test CA")])
    ca = make_certificate("paygate test CA", ca_key, ca_name, ca_key, ca=True, names=[])
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = make_certificate(CERT_NAME, key, ca_name, ca_key, ca=False, names=[CERT_NAME])
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


WEBHOOKS_TABLE = "webhooks"


@pytest.fixture
def webhooks_db() -> Iterator[StrictDynamoDB]:
    """The template's WebhooksTable on moto; every request checked and logged (StrictDynamoDB)."""
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(TableName=WEBHOOKS_TABLE, **table_definitions()["WebhooksTable"])
        yield StrictDynamoDB(db)
