"""TLS and mutual TLS on the control plane, with certificates made for the test."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from proto.gridbot.v1 import control_pb2 as pb
from tests.support.running_bot import auth, running_bot


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, signing_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256())


def _pki(tmp_path: Path) -> dict[str, Path]:
    ca_key = _key()
    ca = _cert("gridbot test CA", ca_key, None, ca=True)
    server_key, client_key = _key(), _key()
    files = {
        "ca": (ca.public_bytes(serialization.Encoding.PEM)),
        "server_cert": _cert(
            "localhost", server_key, ("gridbot test CA", ca_key), server=True
        ).public_bytes(serialization.Encoding.PEM),
        "server_key": _pem_key(server_key),
        "client_cert": _cert("operator", client_key, ("gridbot test CA", ca_key)).public_bytes(
            serialization.Encoding.PEM
        ),
        "client_key": _pem_key(client_key),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(data)
    return paths


def _secure(address: str, pki: dict[str, Path], client: bool) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki["ca"].read_bytes(),
        private_key=pki["client_key"].read_bytes() if client else None,
        certificate_chain=pki["client_cert"].read_bytes() if client else None,
    )
    port = address.rsplit(":", 1)[1]
    return grpc.secure_channel(f"localhost:{port}", credentials)


def _ready(stub: Any) -> pb.Status:
    """Status once start-up is over (the bot answers UNAVAILABLE while it reconciles)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return stub.GetStatus(pb.GetStatusRequest(), metadata=auth(), timeout=10)
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def test_tls_serves_encrypted_and_refuses_plaintext(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    control = {"tls_cert_file": str(pki["server_cert"]), "tls_key_file": str(pki["server_key"])}
    with running_bot(tmp_path, {"control": control}, wait_ready=False) as bot:
        status = _ready(bot.stub(_secure(bot.address, pki, client=False)))
        assert status.state == "RUNNING"
        with pytest.raises(grpc.RpcError) as plain:
            bot.stub().GetStatus(pb.GetStatusRequest(), metadata=auth(), timeout=5)
        assert plain.value.code() is grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_certificate(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    control = {
        "tls_cert_file": str(pki["server_cert"]),
        "tls_key_file": str(pki["server_key"]),
        "tls_client_ca_file": str(pki["ca"]),
    }
    with running_bot(tmp_path, {"control": control}, wait_ready=False) as bot:
        ok = _ready(bot.stub(_secure(bot.address, pki, client=True)))
        assert ok.state == "RUNNING"
        with pytest.raises(grpc.RpcError) as refused:
            bot.stub(_secure(bot.address, pki, client=False)).GetStatus(
                pb.GetStatusRequest(), metadata=auth(), timeout=5
            )
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
