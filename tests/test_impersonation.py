"""The local cluster's impersonation, as kube-apiserver's filter answers (kubernetes/apiserver
pkg/endpoints/filters/impersonation/impersonation.go): who may impersonate, what the
impersonated user may do, and the errors."""
from __future__ import annotations

import http.client
import json
import ssl

import pytest

from tests.apiserver import LocalAPIServer

SERVICES = "/api/v1/namespaces/default/services"
NEW = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": 80}]}}


@pytest.fixture(scope="module")
def srv(ca, tmp_path_factory):
    server = LocalAPIServer(tmp_path_factory.mktemp("imp") / "kubeconfig", ca=ca, istio=None).start()
    yield server
    server.stop()


def call(srv, token: str, headers: list[tuple[str, str]], method: str = "GET") -> tuple[int, str]:
    """One request with headers as sent, repeats kept (urllib would fold them)."""
    host, port = srv.server.server_address[:2]
    conn = http.client.HTTPSConnection(host, port, context=ssl.create_default_context(cadata=srv.ca.pem.decode()))
    conn.putrequest(method, SERVICES + ("?dryRun=All" if method == "POST" else ""))
    secret = {"admin": srv.cluster.admin_token, "reader": srv.cluster.reader_token}[token]
    for name, value in [("Authorization", f"Bearer {secret}"), *headers]:
        conn.putheader(name, value)
    body = json.dumps(NEW).encode() if method == "POST" else None
    if body:
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = json.loads(resp.read() or b"{}")
    conn.close()
    return resp.status, data.get("message", "")


ROWS = [
    # (requestor, Impersonate-* headers, method, status, message)
    ("admin", [("Impersonate-User", "reader")], "GET", 200, ""),
    ("admin", [("Impersonate-User", "reader")], "POST", 403,
     'services is forbidden: User "reader" cannot create resource "services" in API group "" in the namespace "default"'),
    ("admin", [("Impersonate-User", "jane"), ("Impersonate-Group", "devs"), ("Impersonate-Group", "system:masters")],
     "POST", 201, ""),
    ("admin", [("Impersonate-User", "system:serviceaccount:default:builder")], "POST", 403,
     'services is forbidden: User "system:serviceaccount:default:builder" cannot create resource "services" '
     'in API group "" in the namespace "default"'),
    ("admin", [("Impersonate-Group", "devs")], "GET", 400,
     "requested [{Group  devs    }] without impersonating a user"),
    ("admin", [("Impersonate-Uid", "42")], "GET", 400,
     "requested [{UID  42  authentication.k8s.io/v1  }] without impersonating a user"),
    ("reader", [("Impersonate-User", "admin")], "GET", 403,
     'users "admin" is forbidden: User "reader" cannot impersonate resource "users" in API group "" at the cluster scope'),
    ("reader", [("Impersonate-User", "system:serviceaccount:kube-system:admin")], "GET", 403,
     'serviceaccounts "admin" is forbidden: User "reader" cannot impersonate resource "serviceaccounts" in API '
     'group "" in the namespace "kube-system"'),
    ("reader", [], "GET", 200, ""),
]


@pytest.mark.parametrize("requestor, headers, method, status, message", ROWS)
def test_impersonation(srv, requestor, headers, method, status, message):
    got_status, got_message = call(srv, requestor, headers, method)
    assert (got_status, got_message if message else "") == (status, message)
