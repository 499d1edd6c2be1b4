"""Service account tokens: TokenRequest (`kubectl create token`) and their authentication.

`token_request` is TokenREST.Create (kubernetes pkg/registry/core/serviceaccount/
storage/token.go): the body's name and namespace must match the URL's, the
ServiceAccount must exist, the audiences default to the API server's, the
expiration to an hour (SetDefaults_TokenRequestSpec), and ValidateTokenRequest
refuses less than ten minutes or more than 2^32 seconds. The token is a JWT
signed RS256 with the cluster's service account key, carrying the claims of
pkg/serviceaccount/claims.go (aud, exp, iat, iss, jti, kubernetes.io, nbf,
sub), with the issuer and audience kind and kubeadm configure
(https://kubernetes.default.svc.cluster.local).

`authenticate` is the service account token authenticator: a token this
cluster issued, not expired, whose ServiceAccount still exists with the same
uid, is the user system:serviceaccount:NS:NAME in the groups
system:serviceaccounts, system:serviceaccounts:NS and system:authenticated.
"""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import APIError, Cause, bad_request, invalid, not_found

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster, User

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """The service account signing key (made with openssl on first use) and its key ID."""

    def __init__(self, directory: Path | None) -> None:
        self.dir = Path(directory or tempfile.mkdtemp(prefix="sa-key-"))
        self._lock = threading.Lock()
        self._key: Path | None = None
        self.key_id = ""

    def _ready(self) -> Path:
        with self._lock:
            if self._key is None:
                self.dir.mkdir(parents=True, exist_ok=True)
                key = self.dir / "sa.key"
                subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                                "-out", str(key)], check=True, capture_output=True)
                public = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
                                        check=True, capture_output=True).stdout
                # keyIDFromPublicKey (pkg/serviceaccount/jwt.go): base64url(sha256(DER public key))
                self.key_id = _b64(hashlib.sha256(public).digest())
                self._key = key
            return self._key

    def sign(self, claims: dict) -> str:
        key = self._ready()
        header = {"alg": "RS256", "kid": self.key_id}
        signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()))
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signing_input.encode(),
                                   check=True, capture_output=True).stdout
        return signing_input + "." + _b64(signature)


class Tokens:
    """The tokens this cluster issued, by value, with their claims."""

    def __init__(self, directory: Path | None) -> None:
        self.signer = Signer(directory)
        self._issued: dict[str, dict] = {}
        self._lock = threading.Lock()

    def issue(self, claims: dict) -> str:
        token = self.signer.sign(claims)
        with self._lock:
            self._issued[token] = claims
        return token

    def claims(self, token: str) -> dict | None:
        with self._lock:
            return self._issued.get(token)


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def token_request(cluster: "Cluster", req, target) -> dict:
    """POST serviceaccounts/NAME/token."""
    from .api import decode_body
    body = decode_body(req, target.kind) if req.body else {}
    if not isinstance(body, dict) or body.get("kind") not in ("TokenRequest", None) \
            or body.get("apiVersion") not in ("authentication.k8s.io/v1", None):
        raise bad_request(f"not a TokenRequest: {body!r:.200}")
    namespace, name = target.namespace, target.name
    meta = body.get("metadata") or {}
    if meta.get("name") and meta["name"] != name:
        raise invalid("TokenRequest", name, [Cause("FieldValueInvalid", f'Invalid value: "{meta["name"]}": must '
                                                   "match the service account name if specified", "metadata.name")],
                      "authentication.k8s.io")
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise invalid("TokenRequest", name, [Cause("FieldValueInvalid", f'Invalid value: "{meta["namespace"]}": '
                                                   "must match the service account namespace if specified",
                                                   "metadata.namespace")], "authentication.k8s.io")
    sa = cluster.store.get("/serviceaccounts", namespace, name)
    if sa is None:
        raise not_found("serviceaccounts", name)
    spec = dict(body.get("spec") or {})
    audiences = spec.get("audiences") or [ISSUER]
    expiration = spec.get("expirationSeconds")
    expiration = DEFAULT_EXPIRATION if expiration is None else int(expiration)
    causes = []
    if expiration < 600:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {expiration}: may not specify a duration less "
                                                 "than 10 minutes", "spec.expirationSeconds"))
    if expiration > 1 << 32:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {expiration}: may not specify a duration larger "
                                                 "than 2^32 seconds", "spec.expirationSeconds"))
    if causes:
        raise invalid("TokenRequest", "", causes, "authentication.k8s.io")
    now = time.time()
    private = {"namespace": namespace, "serviceaccount": {"name": name, "uid": sa["metadata"]["uid"]}}
    bound = spec.get("boundObjectRef")
    if bound:
        kind = bound.get("kind", "")
        group_version = bound.get("apiVersion") or "v1"
        resources = {"Pod": ("/pods", "pods", namespace), "Node": ("/nodes", "nodes", ""),
                     "Secret": ("/secrets", "secrets", namespace)}
        if group_version != "v1" or kind not in resources:
            raise bad_request(f"cannot bind token to object of type {group_version}, Kind={kind}")
        key, plural, scope = resources[kind]
        obj = cluster.store.get(key, scope, bound.get("name", ""))  # no Secrets are served here
        if obj is None:
            raise not_found(plural, bound.get("name", ""))
        if bound.get("uid") and bound["uid"] != obj["metadata"]["uid"]:
            raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{obj["metadata"]["name"]}": '
                           f'the UID in the bound object reference ({bound["uid"]}) does not match the UID in '
                           f'record. The object might have been deleted and then recreated',
                           {"name": obj["metadata"]["name"], "kind": plural})
        private[kind.lower()] = {"name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"]}
    claims = {"aud": audiences, "exp": int(now) + expiration, "iat": int(now), "iss": ISSUER,
              "jti": str(uuid.uuid4()), "kubernetes.io": private, "nbf": int(now),
              "sub": f"system:serviceaccount:{namespace}:{name}"}
    token = cluster.sa_tokens.issue(claims)
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": _rfc3339(now)},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound or None},
            "status": {"token": token, "expirationTimestamp": _rfc3339(now + expiration)}}


def authenticate(cluster: "Cluster", token: str) -> "User | None":
    """The service account token authenticator, for tokens of this cluster."""
    from .cluster import User
    claims = cluster.sa_tokens.claims(token)
    if claims is None or claims["exp"] <= time.time():
        return None
    private = claims["kubernetes.io"]
    namespace, name = private["namespace"], private["serviceaccount"]["name"]
    sa = cluster.store.get("/serviceaccounts", namespace, name)
    if sa is None or sa["metadata"]["uid"] != private["serviceaccount"]["uid"]:
        return None  # "service account ... has been deleted" (the token is invalid)
    for kind, key, scope in (("pod", "/pods", namespace), ("node", "/nodes", "")):
        if kind in private:  # a bound token dies with its object
            obj = cluster.store.get(key, scope, private[kind]["name"])
            if obj is None or obj["metadata"]["uid"] != private[kind]["uid"]:
                return None
    return User(f"system:serviceaccount:{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))
