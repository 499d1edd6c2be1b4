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
