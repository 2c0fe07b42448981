"""The providers run's one SSL context, its CA bundle loaded while the requests start
(``pipeline.sources.http.DeferredSSLContext``): a plain-HTTP source never waits for it, an
HTTPS one verifies against exactly the bundle that was loaded, at its handshake."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.sources.http import DeferredSSLContext, make_client


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"data": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(context: ssl.SSLContext | None = None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{server.server_address[1]}/v1/models"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_url() -> Iterator[str]:
    yield from _serve()


def _authority(tmp_path: Path) -> tuple[bytes, Path, Path]:
    """(a CA's PEM, the server's certificate chain file, its key file) for 127.0.0.1."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key: Any, issuer: str, signer: Any, *, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        else:
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("test CA", ca_key, "test CA", ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("127.0.0.1", leaf_key, "test CA", ca_key, ca=False)
    pem = serialization.Encoding.PEM
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(leaf.public_bytes(pem))
    key.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca.public_bytes(pem), chain, key


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """(the URL of an HTTPS server, the PEM of the CA its certificate is signed by)."""
    ca_pem, chain, key = _authority(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(chain, key)
    for url in _serve(server_context):
        yield url, ca_pem


def test_a_plain_http_request_never_waits_for_the_bundle(http_url):
    def never() -> ssl.SSLContext:
        raise AssertionError("a plain-HTTP request asked for the CA bundle")

    with make_client(verify=DeferredSSLContext(never)) as client:
        assert client.get(http_url).json() == {"data": []}


def test_an_https_request_waits_for_the_bundle_and_verifies_against_it(tls):
    url, ca_pem = tls
    loaded = threading.Event()
    asked = threading.Event()

    def load() -> ssl.SSLContext:
        asked.set()
        assert loaded.wait(10)
        return ssl.create_default_context(cadata=ca_pem.decode())

    answers: list[Any] = []
    with make_client(verify=DeferredSSLContext(load)) as client:
        request = threading.Thread(target=lambda: answers.append(client.get(url).json()))
        request.start()
        assert asked.wait(10)  # the handshake asked for the bundle ...
        assert not answers  # ... and waits for it
        loaded.set()
        request.join(10)
    assert answers == [{"data": []}]


def test_the_loaded_bundle_is_the_trust_not_the_placeholder(tls):
    """A bundle without the server's CA refuses it; the placeholder's own settings are a
    client context's (certificates required, host names checked)."""
    url, _ca_pem = tls
    with (
        make_client(verify=DeferredSSLContext(ssl.create_default_context)) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(url)
    placeholder = DeferredSSLContext(ssl.create_default_context)
    assert placeholder.verify_mode == ssl.CERT_REQUIRED
    assert placeholder.check_hostname
