"""Images with contents (tests/apiserver/images.py): pure tables."""
from __future__ import annotations

import pytest

from tests.apiserver import images

DIGEST = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"

# distribution/reference normalize_test.go: TestNormalizedSplitHostname, TestParseRepositoryInfo
# (FullName), TestParseAnyReference, TestParseReferenceWithTagAndDigest
REFERENCES = [
    ("test.com/foo", "test.com/foo", "", ""),
    ("test_com/foo", "docker.io/test_com/foo", "", ""),
    ("docker/migrator", "docker.io/docker/migrator", "", ""),
    ("test.com:8080/foo", "test.com:8080/foo", "", ""),
    ("test-com:8080/foo", "test-com:8080/foo", "", ""),
    ("foo", "docker.io/library/foo", "", ""),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo", "", ""),
    ("docker.io/foo", "docker.io/library/foo", "", ""),
    ("docker.io/library/foo/bar", "docker.io/library/foo/bar", "", ""),
    ("index.docker.io/library/ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "", ""),
    ("127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "", ""),
    ("Foo/bar", "Foo/bar", "", ""),
    ("redis:latest", "docker.io/library/redis", "latest", ""),
    (f"dmcgowan/myapp@{DIGEST}", "docker.io/dmcgowan/myapp", "", DIGEST),
    (f"busybox:latest@{DIGEST}", "docker.io/library/busybox", "latest", DIGEST),
]


@pytest.mark.parametrize("text,repository,tag,digest", REFERENCES)
def test_references_normalize_as_distribution_does(text, repository, tag, digest):
    assert images.parse(text) == images.Reference(repository, tag, digest)


def test_what_the_runtime_reports():
    ref = images.parse("curlimages/curl")
    assert str(ref) == "docker.io/curlimages/curl:latest"
    assert ref.image_id.startswith("docker.io/curlimages/curl@sha256:") and len(ref.image_id.split(":")[-1]) == 64
    pinned = images.parse(f"curlimages/curl:8.11.1@{DIGEST}")
    assert (str(pinned), pinned.image_id) == (f"docker.io/curlimages/curl@{DIGEST}", f"docker.io/curlimages/curl@{DIGEST}")


# (image, command, found path or runc's reason)
CONTENTS = [
    ("curlimages/curl", "curl", "/usr/bin/curl"),
    ("docker.io/curlimages/curl:8.11.1", "sh", "/bin/sh"),
    (f"curlimages/curl@{DIGEST}", "/usr/bin/curl", "/usr/bin/curl"),
    ("quay.io/curl/curl:latest", "mkfifo", "/usr/bin/mkfifo"),
    ("busybox:1.36", "sh", "/bin/sh"),
    ("busybox", "head", "/bin/head"),  # `busybox --install /bin`
    ("busybox", "curl", "executable file not found in $PATH"),
    ("busybox", "/usr/bin/curl", "stat /usr/bin/curl: no such file or directory"),
    ("alpine:3.20", "wget", "/usr/bin/wget"),
    ("alpine", "curl", "executable file not found in $PATH"),
    ("gcr.io/distroless/static", "sh", "executable file not found in $PATH"),
    ("gcr.io/distroless/static-debian12:nonroot", "curl", "executable file not found in $PATH"),
    ("gcr.io/distroless/base-debian12", "/bin/sh", "stat /bin/sh: no such file or directory"),
    ("gcr.io/distroless/base-debian12:debug", "sh", "/busybox/sh"),
]


@pytest.mark.parametrize("reference,command,expected", CONTENTS)
def test_contents(reference, command, expected):
    image = images.lookup(reference)
    path, why = image.lookup(command)
    assert (path or why) == expected


def test_unknown_images_have_no_catalogue_entry():
    assert images.lookup("nginx:1.27") is None
    assert images.lookup("docker.io/istio/proxyv2:1.20.8") is None


@pytest.mark.parametrize("reference,uid,user", [
    ("curlimages/curl", None, "curl_user"),  # a name: runAsNonRoot cannot be verified
    ("busybox", 0, ""),
    ("gcr.io/distroless/static", 0, ""),
    ("gcr.io/distroless/static:nonroot", 65532, "65532"),
    ("gcr.io/distroless/cc-debian12:debug-nonroot", 65532, "65532"),
])
def test_users(reference, uid, user):
    image = images.lookup(reference)
    assert (image.uid, image.user) == (uid, user)


@pytest.mark.parametrize("container,argv", [
    ({"command": ["sleep", "600"]}, ["sleep", "600"]),
    ({"command": ["sh"], "args": ["-c", "true"]}, ["sh", "-c", "true"]),
    ({}, ["curl"]),  # ENTRYPOINT /entrypoint.sh, CMD curl
    ({"args": ["-sS", "http://x/"]}, ["curl", "-sS", "http://x/"]),  # an option goes to curl
    ({"args": ["sleep", "1"]}, ["sleep", "1"]),  # a command runs as it is
    ({"args": ["example.com"]}, ["curl", "example.com"]),  # not a command: curl's argument
])
def test_curl_entrypoint(container, argv):
    """curl-container etc/entrypoint.sh: `set -- curl "$@"` for an option or a non-command."""
    assert images.container_argv(images.lookup("curlimages/curl"), container) == argv


def test_other_entrypoints():
    assert images.container_argv(images.lookup("busybox"), {}) == ["sh"]
    assert images.container_argv(images.lookup("gcr.io/distroless/static"), {"args": ["/app"]}) == ["/app"]
    assert images.container_argv(None, {"command": ["a"], "args": ["b"]}) == ["a", "b"]


def test_exec_failure_is_an_internal_error_status():
    status = images.exec_failure("curl", "executable file not found in $PATH")
    cause = status["details"]["causes"][0]["message"]
    assert status["message"] == f"Internal error occurred: {cause}"
    assert (status["reason"], status["code"], status["status"]) == ("InternalError", 500, "Failure")
    assert cause.endswith('OCI runtime exec failed: exec failed: unable to start container process: exec: '
                          '"curl": executable file not found in $PATH: unknown')


def test_programs_link_to_this_machine(tmp_path):
    """Each image gets a directory of links named as its paths, to this machine's programs."""
    import os
    import shutil

    root = images.Root(tmp_path)
    busybox = images.lookup("busybox")
    sh = root.program(busybox, "/bin/sh")
    assert os.path.realpath(sh) == os.path.realpath(shutil.which("sh"))
    assert root.path_for(busybox).split(":")[-1] == sh.rsplit("/", 1)[0]
    assert not list(tmp_path.rglob("curl"))  # busybox has none
    curl = images.lookup("curlimages/curl")
    assert os.path.realpath(root.program(curl, "/usr/bin/curl")) == os.path.realpath(shutil.which("curl"))
