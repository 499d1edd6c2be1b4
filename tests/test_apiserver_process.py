"""`python -m tests.apiserver`: ready line, a kubeconfig kubectl accepts, clean stop on signals."""
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def start(tmp_path, *args):
    proc = subprocess.Popen([sys.executable, "-m", "tests.apiserver", "--kubeconfig", str(tmp_path / "kc"), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("ready https://127.0.0.1:"), proc.stderr.read()
    return proc, line.split()[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_then_stops_cleanly(tmp_path, kubectl, sig):
    proc, url = start(tmp_path, "--istio", "none")
    config = yaml.safe_load((tmp_path / "kc").read_text())
    assert config["clusters"][0]["cluster"]["server"] == url
    assert [c["name"] for c in config["contexts"]] == ["local", "local-readonly"]
    res = kubectl("--kubeconfig", str(tmp_path / "kc"), "get", "ns", "-o", "name",
                  env={"KUBECACHEDIR": str(tmp_path / "cache")})
    assert res.out.splitlines() == ["namespace/default", "namespace/kube-node-lease", "namespace/kube-public",
                                    "namespace/kube-system"]
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 0


def test_fixed_port_and_bad_istio_version(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "tests.apiserver", "--kubeconfig", str(tmp_path / "kc"),
                          "--istio", "latest"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "not an Istio version" in bad.stderr
