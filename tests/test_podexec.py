"""podexec: kubectl's pods/exec exchange, against the local API server."""
import pytest

from kubectl_egress import podexec
from kubectl_egress.app import App
from tests.conftest import serviceaccount_kubeconfig
from tests.netns import requires_pod_networks
from tests.procs import holding


def kube():
    return App.from_raw({}).kube()


def test_an_exec_upgrade_that_does_not_answer_in_time(apiserver):
    from kubectl_egress.errors import EgressError

    apiserver.fault(path="/pods/ghost/exec$", delay=3, times=1)
    with pytest.raises(EgressError, match="exec in pod default/ghost did not finish within 1s"):
        podexec.run(kube(), "default", "ghost", "main", ["true"], 1)


@pytest.mark.parametrize("status, code", [
    (b'{"metadata": {}, "status": "Success"}', 0),
    (b'{"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with non-zero exit '
     b'code: error executing command [sh -c exit 3], exit code 3", "details": {"causes": '
     b'[{"reason": "ExitCode", "message": "3"}]}}', 3),
    (b'{"status": "Failure", "message": "container not running"}', "failed: container not running"),
    (b"", "ended without an exit status"),
    (b"not json", "ended without an exit status"),
])
def test_exit_code_from_the_status_on_channel_3(status, code):
    from kubectl_egress.errors import EgressError

    if isinstance(code, int):
        assert podexec.exit_code(status, "ns", "pod") == code
    else:
        with pytest.raises(EgressError, match=code):
            podexec.exit_code(status, "ns", "pod")


POD = """
apiVersion: v1
kind: Pod
metadata: {name: shell, namespace: default}
spec:
  containers: [{name: main, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
"""


@requires_pod_networks
def test_exec_streams_exit_codes_and_errors(apiserver, kubectl, tmp_path):
    from kubectl_egress.errors import EgressError, ServerError

    assert kubectl("apply", "-f", "-", input=POD).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=30s").code == 0
    client = kube()
    assert podexec.run(client, "default", "shell", "main", ["sh", "-c", "echo out; echo err >&2; exit 3"], 10) == \
        (3, "out\n", "err\n")
    big = podexec.run(client, "default", "shell", "main", ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"], 10)
    assert big == (0, "x" * 300000, "")
    with pytest.raises(ServerError, match="container nope is not valid for pod shell"):
        podexec.run(client, "default", "shell", "nope", ["true"], 10)
    with pytest.raises(ServerError, match='pods "ghost" not found'):
        podexec.run(client, "default", "ghost", "main", ["true"], 10)
    with pytest.raises(EgressError, match="did not finish within 1s"):
        podexec.run(client, "default", "shell", "main", ["sleep", "5"], 1)
    # a user RBAC gives nothing beyond discovery (a fresh service account's token)
    nobody = App.from_raw({"kubeconfig": str(serviceaccount_kubeconfig(apiserver, tmp_path / "sa")),
                           "context": "sa"}).kube()
    with pytest.raises(ServerError, match='cannot get resource "pods/exec"'):
        podexec.run(nobody, "default", "shell", "main", ["true"], 10)


def eventually(condition, timeout: float = 15):
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "still not so after waiting"
        time.sleep(0.05)


@requires_pod_networks
def test_stdin_streams_and_stop(apiserver, kubectl):
    """Output handed on as it arrives; Stop's line reaches the command's stdin, and ends it."""
    import threading

    assert kubectl("apply", "-f", "-", input=POD).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=30s").code == 0
    client = kube()
    chunks: list[bytes] = []
    stop = podexec.Stop()
    timer = threading.Timer(0.5, stop.stop)
    timer.start()
    code, out, err = podexec.run(client, "default", "shell", "main",
                                 ["sh", "-c", "echo ready; read line; echo \"got $line\""], 30,
                                 on_stdout=chunks.append, stop=stop)
    assert (code, out, err) == (0, "", "") and b"".join(chunks) == b"ready\ngot stop\n"
    stop.stop()  # a session that starts after the stop gets the line at once
    code, out, _ = podexec.run(client, "default", "shell", "main", ["sh", "-c", "read line; echo $line"], 30,
                               stop=stop)
    assert (code, out) == (0, "stop\n")


@requires_pod_networks
def test_a_client_that_goes_away_leaves_the_command_running_until_its_pod_stops(apiserver, kubectl):
    """As on a real node: containerd's execInContainer waits for the process whoever holds the stream
    (kubernetes#89031); what reaches the command is the end of its stdin (StdinOnce, CloseStdin).
    The command and what it started end with their pod."""
    import secrets

    from kubectl_egress.errors import EgressError

    assert kubectl("apply", "-f", "-", input=POD).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=30s").code == 0
    token = f"{600 + secrets.randbelow(1000)}.{secrets.randbelow(10 ** 6):06d}"
    script = f"sleep {token} & cat >/dev/null; exec sleep {token}"
    with pytest.raises(EgressError, match="did not finish within 1s"):  # the client gives up and closes
        podexec.run(kube(), "default", "shell", "main", ["sh", "-c", script], 1, stop=podexec.Stop())
    eventually(lambda: len(holding(token)) == 2)  # cat read EOF, then the shell became a sleep
    assert kubectl("delete", "pod", "shell", "--wait=true").code == 0
    eventually(lambda: holding(token) == [])


@requires_pod_networks
@pytest.mark.parametrize("kind", ["http", "https", "socks5"])
def test_exec_through_a_proxy_with_tls_server_name(apiserver, kubectl, tmp_path, kind):
    """The WebSocket goes where every request goes: through the proxy, verified against
    tls-server-name; kubectl exec through the same kubeconfig agrees."""
    import yaml

    from tests.proxies import ConnectProxy, Socks5Proxy

    serving = apiserver.ca.serving()
    proxy = {"http": ConnectProxy, "https": lambda: ConnectProxy(tls=(serving.cert, serving.key)),
             "socks5": Socks5Proxy}[kind]()
    try:
        config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
        config["clusters"][0]["cluster"].update(
            server=f"https://apiserver.internal:{apiserver.server.server_address[1]}", **{
                "proxy-url": proxy.url, "tls-server-name": "kubernetes.default.svc"})
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        assert kubectl("apply", "-f", "-", input=POD).code == 0
        assert kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=30s").code == 0
        theirs = kubectl("--kubeconfig", str(path), "exec", "shell", "-c", "main", "--", "sh", "-c", "echo hi; exit 4")
        ours = podexec.run(App.from_raw({"kubeconfig": str(path)}).kube(), "default", "shell", "main",
                           ["sh", "-c", "echo hi; exit 4"], 10)
        assert (theirs.code, theirs.out) == (4, "hi\n") and ours == (4, "hi\n", "")
        assert proxy.targets and all(t.startswith("apiserver.internal:") for t in proxy.targets)
    finally:
        proxy.close()
