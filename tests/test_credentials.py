"""Credentials as client-go builds them from a kubeconfig, against the local API server:
client certificates (files and data), exec credential plugins, token files."""
import base64
import json
import stat

import yaml


def with_user(srv, tmp_path, user: dict, cluster: dict | None = None, name="custom"):
    config = yaml.safe_load(srv.kubeconfig_path.read_text())
    config["users"].append({"name": "custom", "user": user})
    config["contexts"].append({"name": "custom", "context": {"cluster": "local", "user": "custom"}})
    if cluster is not None:
        config["clusters"][0]["cluster"].update(cluster)
    config["current-context"] = "custom"
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_client_certificate_files_and_data(apiserver, egress, tmp_path):
    pair = apiserver.ca.client("alice", ("system:masters",))
    files = with_user(apiserver, tmp_path, {"client-certificate": str(pair.cert), "client-key": str(pair.key)})
    assert egress("externalname", "a", "example.com", "--kubeconfig", files).code == 0
    data = with_user(apiserver, tmp_path, {
        "client-certificate-data": base64.b64encode(pair.cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(pair.key.read_bytes()).decode()}, name="data")
    assert egress("get", "--kubeconfig", data).lines[1].split()[0] == "a"


def test_certificate_without_admin_group_gets_only_what_rbac_gives_everyone(apiserver, egress, tmp_path):
    pair = apiserver.ca.client("bob")
    path = with_user(apiserver, tmp_path, {"client-certificate": str(pair.cert), "client-key": str(pair.key)})
    # the recipe reads before it writes: that read is refused first
    res = egress("externalname", "a", "example.com", "--kubeconfig", path)
    assert res.code == 1 and 'User "bob" cannot get resource "services"' in res.err
    res = egress("get", "--kubeconfig", path)
    assert res.code == 1 and 'User "bob" cannot list resource "services"' in res.err


def plugin(tmp_path, body: str) -> str:
    script = tmp_path / "credential-plugin"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_exec_plugin_token(apiserver, egress, tmp_path):
    token = apiserver.cluster.admin_token
    seen = tmp_path / "exec-info"
    command = plugin(tmp_path, f'echo "$KUBERNETES_EXEC_INFO" > {seen}\n'
                               f'echo \'{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
                               f'"status":{{"token":"{token}"}}}}\'\n')
    path = with_user(apiserver, tmp_path, {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                    "command": command, "interactiveMode": "Never",
                                                    "provideClusterInfo": True}})
    assert egress("externalname", "a", "example.com", "--kubeconfig", path).code == 0
    info = json.loads(seen.read_text())
    assert info["kind"] == "ExecCredential" and info["spec"]["cluster"]["server"] == apiserver.url


def test_exec_plugin_certificate(apiserver, egress, tmp_path):
    pair = apiserver.ca.client("carol", ("system:masters",))
    status = {"clientCertificateData": pair.cert.read_text(), "clientKeyData": pair.key.read_text()}
    doc = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": status})
    (tmp_path / "cred.json").write_text(doc)
    command = plugin(tmp_path, f"cat {tmp_path / 'cred.json'}\n")
    path = with_user(apiserver, tmp_path, {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                    "command": command, "interactiveMode": "Never"}})
    assert egress("get", "--kubeconfig", path).code == 0


def test_exec_plugin_failures(apiserver, egress, tmp_path):
    missing = with_user(apiserver, tmp_path, {"exec": {"command": "no-such-plugin", "interactiveMode": "Never",
                                                       "installHint": "install it with brew"}})
    res = egress("get", "--kubeconfig", missing)
    assert (res.code, res.err) == (1, "error: exec: executable no-such-plugin not found (install it with brew)\n")
    failing = with_user(apiserver, tmp_path, {"exec": {"command": plugin(tmp_path, "echo denied >&2; exit 3\n"),
                                                       "interactiveMode": "Never"}}, name="failing")
    res = egress("get", "--kubeconfig", failing)
    assert res.err == "error: exec credential plugin " + str(tmp_path / "credential-plugin") + \
        " failed (exit 3): denied\n"


def test_token_file_and_insecure(apiserver, egress, tmp_path):
    token = tmp_path / "token"
    token.write_text(apiserver.cluster.admin_token + "\n")
    path = with_user(apiserver, tmp_path, {"tokenFile": str(token)},
                     cluster={"insecure-skip-tls-verify": True, "certificate-authority-data": None})
    config = yaml.safe_load(open(path))
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    open(path, "w").write(yaml.safe_dump(config))
    assert egress("get", "--kubeconfig", path).code == 0


def test_basic_auth_is_refused_by_this_server(apiserver, egress, tmp_path):
    path = with_user(apiserver, tmp_path, {"username": "admin", "password": "secret"})
    assert egress("get", "--kubeconfig", path).err == "error: You must be logged in to the server (Unauthorized)\n"
