"""A self-signed certificate for 127.0.0.1 and localhost, made with the openssl binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

AVAILABLE = shutil.which("openssl") is not None
"""Whether the openssl binary is here to make a certificate."""


def self_signed(directory: Path) -> tuple[Path, Path]:
    """Write `cert.pem` and `key.pem` (valid one day) into `directory`; return their paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key
