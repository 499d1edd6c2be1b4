"""A throw-away certificate authority, made with the openssl command.

The local API server serves HTTPS because kubectl (client-go) sends bearer
tokens only over TLS; the emulated internet of the probe tests uses the same
CA for the external hosts' certificates, which the pods trust.
"""
from __future__ import annotations

import ipaddress
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


class CA:
    def __init__(self, directory: Path | None = None, name: str = "local-cluster-ca") -> None:
        self.dir = Path(directory or tempfile.mkdtemp(prefix="local-ca-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pair = Pair(self.dir / "ca.crt", self.dir / "ca.key")
        self._serving: Pair | None = None
        self._issued: dict[str, Pair] = {}
        self._lock = threading.Lock()
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-days", "3650", "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", str(self.pair.key), "-out", str(self.pair.cert))

    def certificate(self, name: str, hosts: list[str]) -> Pair:
        """A server certificate issued once per CA and name (openssl is slow-ish)."""
        with self._lock:
            if name not in self._issued:
                self._issued[name] = self.issue(name, hosts)
            return self._issued[name]

    def self_signed(self, name: str, hosts: list[str]) -> Pair:
        """A server certificate signed by its own key, as self-signed.badssl.com presents (made once)."""
        with self._lock:
            if name not in self._issued:
                key, cert = self.dir / f"{name}.key", self.dir / f"{name}.crt"
                sans = ",".join(f"DNS:{h}" for h in hosts)
                _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-days", "3650", "-subj", f"/CN={hosts[0]}", "-addext", f"subjectAltName={sans}",
                         "-addext", "basicConstraints=critical,CA:FALSE",
                         "-keyout", str(key), "-out", str(cert))
                self._issued[name] = Pair(cert, key)
            return self._issued[name]

    def client(self, user: str, groups: tuple[str, ...] = ()) -> Pair:
        """A client certificate: CN is the user, O the groups (kube-apiserver's x509 authenticator)."""
        key, csr, cert = (self.dir / f"client-{user}.{ext}" for ext in ("key", "csr", "crt"))
        subject = "".join(f"/O={g}" for g in groups) + f"/CN={user}"
        ext = self.dir / f"client-{user}.ext"
        ext.write_text("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-subj", subject, "-keyout", str(key), "-out", str(csr))
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.pair.cert), "-CAkey", str(self.pair.key),
                 "-CAcreateserial", "-days", "3650", "-extfile", str(ext), "-out", str(cert))
        return Pair(cert, key)

    def serving(self) -> Pair:
        """The API server's certificate (made once per CA)."""
        if self._serving is None:
            self._serving = self.issue("apiserver", ["127.0.0.1", "localhost", "kubernetes.default.svc"])
        return self._serving

    @property
    def pem(self) -> bytes:
        return self.pair.cert.read_bytes()

    def issue(self, name: str, hosts: list[str]) -> Pair:
        """A server certificate for host names and IPs, signed by this CA."""
        key, csr, cert = (self.dir / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
        sans = []
        for host in hosts:
            try:
                ipaddress.ip_address(host)
                sans.append(f"IP:{host}")
            except ValueError:
                sans.append(f"DNS:{host}")
        ext = self.dir / f"{name}.ext"
        ext.write_text(f"subjectAltName={','.join(sans)}\nextendedKeyUsage=serverAuth\n"
                       "basicConstraints=CA:FALSE\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-subj", f"/CN={hosts[0]}", "-keyout", str(key), "-out", str(csr))
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.pair.cert), "-CAkey", str(self.pair.key),
                 "-CAcreateserial", "-days", "3650", "-extfile", str(ext), "-out", str(cert))
        return Pair(cert, key)
