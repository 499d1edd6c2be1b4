"""kubeconfig: kubectl's merge and override rules, and the errors that say what to fix."""

import pytest
import yaml

from kubectl_egress.errors import EgressError, UsageError
from kubectl_egress.kubeconfig import ConnectionFlags, resolve


def config(contexts, current="", clusters=("one", "two"), users=("u1",)):
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": c, "cluster": {"server": f"https://{c}.example:6443",
                                             "certificate-authority": "ca.crt"}} for c in clusters],
        "users": [{"name": u, "user": {"token": f"token-{u}"}} for u in users],
        "contexts": [{"name": n, "context": ctx} for n, ctx in contexts.items()],
    }


@pytest.fixture
def files(tmp_path):
    def write(name, data):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path
    return write


def test_current_context_and_its_namespace(files):
    path = files("a", config({"c1": {"cluster": "one", "user": "u1", "namespace": "prod"}}, "c1"))
    ctx = resolve(ConnectionFlags(), {"KUBECONFIG": str(path)})
    assert (ctx.context_name, ctx.server, ctx.namespace, ctx.namespace_explicit) == \
        ("c1", "https://one.example:6443", "prod", False)
    assert ctx.config["clusters"][0]["cluster"]["certificate-authority"] == str(path.parent.resolve() / "ca.crt")


def test_namespace_flag_wins_and_default_is_default(files):
    path = files("a", config({"c1": {"cluster": "one", "user": "u1"}}, "c1"))
    env = {"KUBECONFIG": str(path)}
    assert resolve(ConnectionFlags(), env).namespace == "default"
    ctx = resolve(ConnectionFlags(namespace="team"), env)
    assert (ctx.namespace, ctx.namespace_explicit) == ("team", True)


def test_several_files_first_wins(files):
    first = files("a", config({"c1": {"cluster": "one", "user": "u1", "namespace": "first"}}, "c1"))
    second = files("b", config({"c1": {"cluster": "two", "user": "u1", "namespace": "second"},
                                "c2": {"cluster": "two", "user": "u1"}}, "c2"))
    ctx = resolve(ConnectionFlags(), {"KUBECONFIG": f"{first}:{second}:/no/such/file"})
    assert (ctx.context_name, ctx.namespace) == ("c1", "first")
    ctx = resolve(ConnectionFlags(context="c2"), {"KUBECONFIG": f"{first}:{second}"})
    assert ctx.server == "https://two.example:6443"


def test_cluster_and_user_overrides(files):
    path = files("a", config({"c1": {"cluster": "one", "user": "u1"}}, "c1", users=("u1", "u2")))
    ctx = resolve(ConnectionFlags(cluster="two", user="u2"), {"KUBECONFIG": str(path)})
    assert ctx.server == "https://two.example:6443"
    assert ctx.config["users"][0]["user"]["token"] == "token-u2"


@pytest.mark.parametrize("flags, env_files, error, message", [
    (ConnectionFlags(context="nope"), True, UsageError, "context was not found for specified context: nope"),
    (ConnectionFlags(cluster="nope"), True, UsageError, 'cluster "nope" was not found in the kubeconfig'),
    (ConnectionFlags(user="nope"), True, UsageError, 'user "nope" was not found in the kubeconfig'),
    (ConnectionFlags(kubeconfig="/no/such/kubeconfig"), False, UsageError, "--kubeconfig /no/such/kubeconfig: no such file"),
    (ConnectionFlags(), False, EgressError, "no kubeconfig found"),
])
def test_errors(files, tmp_path, flags, env_files, error, message):
    path = files("a", config({"c1": {"cluster": "one", "user": "u1"}}, "c1"))
    env = {"KUBECONFIG": str(path)} if env_files else {"KUBECONFIG": "", "HOME": str(tmp_path / "home")}
    with pytest.raises(error) as err:
        resolve(flags, env)
    assert message in err.value.message


def test_no_current_context(files):
    path = files("a", config({"c1": {"cluster": "one", "user": "u1"}}, ""))
    with pytest.raises(EgressError, match='use "kubectl config use-context <context>"'):
        resolve(ConnectionFlags(), {"KUBECONFIG": str(path)})


# -- clientcmd's overrides (client_config.go getCluster, getAuthInfo) ------------------------------
CLUSTER = {"server": "https://one.example:6443", "certificate-authority-data": "Q0E=",
           "tls-server-name": "api.internal"}


@pytest.mark.parametrize("flags, want", [
    (ConnectionFlags(), CLUSTER),
    (ConnectionFlags(server="https://two:6443"),  # --server clears the kubeconfig's tls-server-name
     {"server": "https://two:6443", "certificate-authority-data": "Q0E="}),
    (ConnectionFlags(server="https://two:6443", tls_server_name="x"),
     {"server": "https://two:6443", "certificate-authority-data": "Q0E=", "tls-server-name": "x"}),
    (ConnectionFlags(insecure_skip_tls_verify=True),  # drops the CA, which would conflict
     {"server": "https://one.example:6443", "insecure-skip-tls-verify": True, "tls-server-name": "api.internal"}),
    (ConnectionFlags(certificate_authority="/ca.crt"),  # replaces CA data and insecure alike
     {"server": "https://one.example:6443", "certificate-authority": "/ca.crt", "insecure-skip-tls-verify": False,
      "tls-server-name": "api.internal"}),
    (ConnectionFlags(disable_compression=True), {**CLUSTER, "disable-compression": True}),
])
def test_cluster_overrides(flags, want):
    from kubectl_egress.kubeconfig import cluster_overrides
    assert cluster_overrides(CLUSTER, flags) == want


@pytest.mark.parametrize("flags, want", [
    (ConnectionFlags(token="t2"), {"token": "t2", "client-certificate-data": "Q0U=", "client-key-data": "S0VZ"}),
    (ConnectionFlags(client_certificate="/c.crt", client_key="/c.key"),
     {"token": "t1", "client-certificate": "/c.crt", "client-key": "/c.key"}),
    (ConnectionFlags(impersonate="bob", impersonate_groups=("a", "b"), impersonate_uid="u"),
     {"token": "t1", "client-certificate-data": "Q0U=", "client-key-data": "S0VZ", "as": "bob",
      "as-groups": ["a", "b"], "as-uid": "u"}),
])
def test_user_overrides(flags, want):
    from kubectl_egress.kubeconfig import user_overrides
    assert user_overrides({"token": "t1", "client-certificate-data": "Q0U=", "client-key-data": "S0VZ"},
                          flags) == want


@pytest.mark.parametrize("server, cluster, user, want", [
    ("https://a:1", {}, {}, "https://a:1"),
    ("a:6443", {"certificate-authority": "/ca"}, {}, "https://a:6443"),
    ("a:6443", {"insecure-skip-tls-verify": True}, {}, "https://a:6443"),
    ("a:6443", {}, {"client-certificate-data": "x"}, "https://a:6443"),
    ("a:8080", {}, {"token": "t"}, "http://a:8080"),
])
def test_server_without_scheme(server, cluster, user, want):
    """rest.DefaultServerURL: https only where TLS is configured."""
    from kubectl_egress.kubeconfig import server_url
    assert server_url(server, cluster, user) == want


def test_flags_alone_make_a_connection(tmp_path):
    ctx = resolve(ConnectionFlags(server="https://k:6443", token="t", namespace="ns"),
                  {"KUBECONFIG": "", "HOME": str(tmp_path)})
    assert (ctx.server, ctx.namespace, ctx.config["users"][0]["user"]) == ("https://k:6443", "ns", {"token": "t"})


@pytest.mark.parametrize("flags, error, message", [
    (ConnectionFlags(impersonate_groups=("devs",)), UsageError,
     "requesting uid, groups or user-extra for u1 without impersonating a user; add --as USER"),
    (ConnectionFlags(username="me", password="pw"), UsageError,
     "more than one authentication method found for u1; found [token basicAuth], only one is allowed"),
])
def test_validation_of_the_user(files, flags, error, message):
    path = files("a", config({"c1": {"cluster": "one", "user": "u1"}}, "c1"))
    with pytest.raises(error) as err:
        resolve(flags, {"KUBECONFIG": str(path)})
    assert message in err.value.message and err.value.exit_code == 2


def test_proxy_url_scheme_is_checked(files):
    data = config({"c1": {"cluster": "one", "user": "u1"}}, "c1")
    data["clusters"][0]["cluster"]["proxy-url"] = "ftp://proxy"
    with pytest.raises(EgressError, match="invalid 'proxy-url' \"ftp://proxy\" for cluster \"one\": "
                                          'unsupported scheme "ftp", must be http, https, or socks5'):
        resolve(ConnectionFlags(), {"KUBECONFIG": str(files("a", data))})


# -- paths (clientcmd loader.go ResolveLocalPaths) -------------------------------------------------
def test_relative_paths_follow_the_link_not_its_target(tmp_path):
    """filepath.Abs(filepath.Dir(...)) and filepath.Join: `../ca.crt` is lexical, from the folder
    the file was named in."""
    target = tmp_path / "real" / "deep"
    target.mkdir(parents=True)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "cfg").symlink_to(target)
    data = config({"c1": {"cluster": "one", "user": "u1"}}, "c1")
    data["clusters"][0]["cluster"]["certificate-authority"] = "../ca.crt"
    data["users"][0]["user"] = {"tokenFile": "tok", "exec": {"command": "./bin/cred", "args": ["x/y"]}}
    (target / "kubeconfig").write_text(yaml.safe_dump(data))
    ctx = resolve(ConnectionFlags(), {"KUBECONFIG": str(tmp_path / "links" / "cfg" / "kubeconfig")})
    assert ctx.config["clusters"][0]["cluster"]["certificate-authority"] == str(tmp_path / "links" / "ca.crt")
    user = ctx.config["users"][0]["user"]
    assert user["tokenFile"] == str(tmp_path / "links" / "cfg" / "tok")
    assert user["exec"]["command"] == str(tmp_path / "links" / "cfg" / "bin" / "cred")
    assert user["exec"]["args"] == ["x/y"]


def test_exec_command_from_path_stays_as_is(files):
    data = config({"c1": {"cluster": "one", "user": "u1"}}, "c1")
    data["users"][0]["user"] = {"exec": {"command": "aws"}}
    ctx = resolve(ConnectionFlags(), {"KUBECONFIG": str(files("a", data))})
    assert ctx.config["users"][0]["user"]["exec"]["command"] == "aws"


# -- in a pod (rest.InClusterConfig, merged_client_builder.go) ------------------------------------
@pytest.fixture
def pod(tmp_path):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "ca.crt").write_text("CA")
    (sa / "namespace").write_text("team-a\n")
    env = {"KUBECONFIG": "", "HOME": str(tmp_path / "home"), "KUBERNETES_SERVICE_HOST": "10.96.0.1",
           "KUBERNETES_SERVICE_PORT": "443"}
    return str(sa), env


def test_in_cluster(pod):
    sa, env = pod
    ctx = resolve(ConnectionFlags(), env, sa_dir=sa)
    assert (ctx.in_cluster, ctx.server, ctx.namespace) == (True, "https://10.96.0.1:443", "team-a")
    assert ctx.config["clusters"][0]["cluster"]["certificate-authority"] == f"{sa}/ca.crt"
    assert ctx.config["users"][0]["user"] == {"tokenFile": f"{sa}/token"}


@pytest.mark.parametrize("flags, environ, want", [
    (ConnectionFlags(namespace="x"), {}, ("https://10.96.0.1:443", "x")),
    (ConnectionFlags(), {"POD_NAMESPACE": "from-env"}, ("https://10.96.0.1:443", "from-env")),
    (ConnectionFlags(server="https://other:6443"), {}, ("https://other:6443", "team-a")),
    (ConnectionFlags(), {"KUBERNETES_SERVICE_HOST": "fd00::1"}, ("https://[fd00::1]:443", "team-a")),
])
def test_in_cluster_overrides(pod, flags, environ, want):
    sa, env = pod
    ctx = resolve(flags, {**env, **environ}, sa_dir=sa)
    assert (ctx.server, ctx.namespace) == want


def test_a_kubeconfig_wins_over_the_pod_but_not_its_namespace(pod, files):
    """A kubeconfig context without a namespace, inside a pod: the service account's namespace."""
    sa, env = pod
    path = files("a", config({"c1": {"cluster": "one", "user": "u1"}}, "c1"))
    ctx = resolve(ConnectionFlags(), {**env, "KUBECONFIG": str(path)}, sa_dir=sa)
    assert (ctx.in_cluster, ctx.server, ctx.namespace) == (False, "https://one.example:6443", "team-a")


def test_not_in_a_pod_without_the_token_file(pod):
    sa, env = pod
    with pytest.raises(EgressError, match="no kubeconfig found"):
        resolve(ConnectionFlags(), env, sa_dir=sa + "/missing")


# -- credentials (client-go's token precedence, exec plugins' cluster info) ----------------------
def _creds(tmp_path, cluster: dict, user: dict):
    from kubectl_egress.credentials import credentials
    from kubectl_egress.kubeconfig import KubeContext
    cfg = {"clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
           "current-context": "x"}
    ctx = KubeContext(config=cfg, context_name="x", cluster_name="c", server=cluster["server"],
                      namespace="default", namespace_explicit=False, request_timeout=None)
    return credentials(ctx, [], {})


@pytest.mark.parametrize("user, want", [
    ({"token": "t"}, "Bearer t"),
    ({"tokenFile": "{tok}"}, "Bearer from-file"),
    ({"token": "t", "tokenFile": "{tok}"}, "Bearer from-file"),  # the file wins (NewBearerAuthWithRefreshRoundTripper)
    ({"token": "t", "tokenFile": "{missing}"}, "Bearer t"),  # ... unless it cannot be read
    ({"username": "a", "password": "b"}, "Basic YTpi"),
])
def test_token_precedence(tmp_path, user, want):
    (tmp_path / "tok").write_text("from-file\n")
    user = {k: v.format(tok=tmp_path / "tok", missing=tmp_path / "nope") for k, v in user.items()}
    assert _creds(tmp_path, {"server": "https://k:6443"}, user).authorization == want


def test_no_credentials_over_plain_http(tmp_path):
    """rest.IsConfigTransportTLS: credentials only for an https server."""
    creds = _creds(tmp_path, {"server": "http://k:8080"}, {"token": "t"})
    assert creds.authorization is None


def test_exec_cluster_info_reads_the_ca_file(tmp_path):
    """rest/exec.go ConfigToExecCluster: the CA as data, from the file; the proxy from proxy-url only."""
    from kubectl_egress.credentials import exec_cluster
    (tmp_path / "ca.crt").write_bytes(b"PEM")
    info = exec_cluster({"server": "https://k", "certificate-authority": str(tmp_path / "ca.crt"),
                         "tls-server-name": "n", "extensions": [{"name": "client.authentication.k8s.io/exec",
                                                                 "extension": {"audience": "x"}}]}, None)
    assert info == {"server": "https://k", "tls-server-name": "n", "certificate-authority-data": "UEVN",
                    "config": {"audience": "x"}}


def test_impersonation_headers(tmp_path):
    creds = _creds(tmp_path, {"server": "https://k:6443"},
                   {"token": "t", "as": "bob", "as-uid": "42", "as-groups": ["a", "b"],
                    "as-user-extra": {"scopes.example/x": ["1"]}})
    assert creds.impersonate == (("Impersonate-User", "bob"), ("Impersonate-Uid", "42"),
                                 ("Impersonate-Group", "a"), ("Impersonate-Group", "b"),
                                 ("Impersonate-Extra-scopes.example%2Fx", "1"))


# -- durations (clientcmd ParseTimeout; Go's time.ParseDuration, vectors from go src/time/time_test.go)
@pytest.mark.parametrize("text, seconds", [
    ("0", 0), ("5s", 5), ("30s", 30), ("1478s", 1478), ("+5s", 5), ("-0", 0), ("+0", 0),
    ("5.0s", 5), ("5.6s", 5.6), ("5.s", 5), (".5s", 0.5), ("1.004s", 1.004), ("100.00100s", 100.001),
    ("10ns", 1e-8), ("11us", 1.1e-5), ("12µs", 1.2e-5), ("12μs", 1.2e-5), ("13ms", 0.013), ("15m", 900),
    ("16h", 57600), ("3h30m", 12600), ("10.5s4m", 250.5), ("1h2m3s4ms5us6ns", 3723.004005006),
    ("39h9m14.425s", 140954.425),
    ("30", 30),  # ParseTimeout: whole seconds
])
def test_durations(text, seconds):
    from kubectl_egress.validate import duration
    assert duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "-1s", "-3", "1e3s"])
def test_durations_go_refuses(text):
    """Go's errors (invalid, missing unit, unknown unit), and negative ones, refused here too."""
    from kubectl_egress.validate import duration
    with pytest.raises(UsageError, match="give a duration such as 10s"):
        duration(text)


YAML_IMPORT_CHECK = r"""
import re, sys
from kubectl_egress.yamllib import LazyPattern, yaml
module = yaml()
import yaml.reader
pattern = yaml.reader.Reader.NON_PRINTABLE
assert isinstance(pattern, LazyPattern) and pattern._compiled is None, "compiled at import"
assert re.compile.__module__ == "re", "re.compile left patched"
try:  # the pure-Python reader still refuses a control character, compiling the pattern now
    module.safe_load('a: "\x01"')
    raise AssertionError("accepted a control character")
except module.reader.ReaderError as err:
    assert "#x0001" in str(err)
assert pattern.pattern == re.compile(pattern.pattern).pattern and pattern._compiled is not None
assert module.load("a: [1, yes, ~]", Loader=module.CSafeLoader) == {"a": [1, True, None]}
"""


def test_yaml_is_imported_without_the_pure_reader_pattern():
    """yamllib: yaml/reader.py's NON_PRINTABLE is compiled when first used, not on import (a
    fresh interpreter: this one may have imported yaml already)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", YAML_IMPORT_CHECK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
