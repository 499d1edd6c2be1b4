"""Where the probe runs in a source pod, and running it there: one exec per pod.

The chosen container, when it can run the probe: a POSIX sh and curl, and a user that the pod's
Istio rules do not let bypass the sidecar (probe/runas.py). Otherwise, or with --ephemeral, the
plugin's ephemeral container: the one already running in the pod, or a new one
(manifests.probe_container: the pinned curl image or --image, Pod Security "restricted", a user
the rules do not exempt). An ephemeral container shares the pod's network namespace, so its
traffic meets the pod's sidecar or ztunnel exactly as the application's does.

What tells that the container cannot: its spec first (a user the rules exempt, or an image known
to hold no shell: distroless without a debug tag, GoogleContainerTools/distroless README.md;
chainguard's static), then the runtime (no `sh`: NotInContainer), then the probe script's guard
(its own user, and whether curl is there), before any curl runs.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from . import manifests, podexec
from .errors import EgressError
from .model import PODS
from .printers import Printer
from .probe import runas
from .probe.checks import Source

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube

START_TIMEOUT = 120.0  # for an ephemeral container to run (its image may need pulling)
SHELL_LESS = re.compile(r"^(?:gcr\.io/distroless/[^:@]+(?::(?!debug)[^@]*)?|cgr\.dev/chainguard/static(?::[^@]*)?)"
                        r"(?:@.*)?$")


@dataclass(frozen=True)
class Placement:
    """How probe containers are chosen: --ephemeral, --image."""

    ephemeral: bool = False
    image: str = manifests.PROBE_IMAGE
    start_timeout: float = START_TIMEOUT


@dataclass
class Ran:
    """One source's run: where it ran (the source, updated), and what the script printed."""

    source: Source
    code: int
    out: str
    err: str


def shell_less(image: str) -> bool:
    """An image known to have no shell (saves an exec that would fail)."""
    return bool(SHELL_LESS.match(image))


def _spec(pod: dict, name: str) -> dict:
    spec = pod.get("spec") or {}
    return next((c for group in ("containers", "initContainers", "ephemeralContainers")
                 for c in spec.get(group) or [] if c.get("name") == name), {})


def _ran(source: Source, guard: runas.Guard, **changes) -> Source:
    return dataclasses.replace(source, uid=guard.uid, gid=guard.gid, **changes)


GUARD_BYTES = 4096  # the guard's lines come first in the output, and are short


def run(kube: Kube, source: Source, argv: list[str], nonce: str, budget: float, placement: Placement,
        printer: Printer, pod: dict | None = None, on_stdout: Callable[[bytes], None] | None = None,
        stop: podexec.Stop | None = None) -> Ran:
    """Run the probe's argv (`sh -c SCRIPT ...`) for a source: in its container, or in the
    plugin's ephemeral container when that cannot run it. on_stdout and stop: as podexec.run's
    (the runner's streaming and Ctrl-C); the guard is read from the output's first lines then."""
    if pod is None:
        pod = kube.get(PODS, source.pod, source.namespace)
        if pod is None:
            raise EgressError(f'pod "{source.pod}" not found in namespace "{source.namespace}"')
    exempt = runas.exemption(pod, source.sidecar)
    command = runas.guarded(argv, nonce, exempt)

    def exec_in(container: str) -> tuple[int, str, str]:
        if on_stdout is None:
            return podexec.run(kube, source.namespace, source.pod, container, command, budget, stop=stop)
        head = bytearray()

        def feed(data: bytes) -> None:
            if len(head) < GUARD_BYTES:
                head.extend(data[:GUARD_BYTES - len(head)])
            on_stdout(data)
        code, _, err = podexec.run(kube, source.namespace, source.pod, container, command, budget,
                                   on_stdout=feed, stop=stop)
        return code, head.decode(errors="replace"), err

    own = _spec(pod, source.container)
    why = "--ephemeral was given" if placement.ephemeral else ""
    if not why:
        bypass = exempt.exempts(*runas.declared_user(own, pod))
        if bypass:
            why = f"container {source.container} runs as {bypass}"
        elif shell_less(own.get("image", "")):
            why = f"container {source.container}'s image {own.get('image')} has no shell"
    if not why:
        try:
            code, out, err = exec_in(source.container)
        except podexec.NotInContainer:
            why = f"container {source.container} has no shell"
        else:
            guard = runas.read_guard(out, nonce)
            if guard.exempt:
                why = f"container {source.container} runs as {exempt.exempts(guard.uid, guard.gid)}"
            elif guard.no_curl:
                why = f"container {source.container} has no curl"
            else:
                return Ran(_ran(source, guard), code, out, err)
    if stop is not None and stop.stopped:  # Ctrl-C: no container to add now
        return Ran(source, -1, "", "")
    name = ephemeral_container(kube, pod, exempt, placement, printer, why)
    try:
        code, out, err = exec_in(name)
    except podexec.NotInContainer:
        raise EgressError(f"the image {placement.image} has no POSIX sh; give --image a curl image with one "
                          f"(such as {manifests.PROBE_IMAGE.split('@')[0]})") from None
    guard = runas.read_guard(out, nonce)
    if guard.no_curl:
        raise EgressError(f"the image {placement.image} has no curl; give --image a curl image "
                          f"(such as {manifests.PROBE_IMAGE.split('@')[0]})")
    if guard.exempt:  # its securityContext names its user, so only a changed pod could do this
        raise EgressError(f"the probe container {name} in pod {source.label} runs as "
                          f"{exempt.exempts(guard.uid, guard.gid)}; nothing was probed")
    return Ran(_ran(source, guard, container=name, ephemeral=True), code, out, err)


def ephemeral_container(kube: Kube, pod: dict, exempt: runas.Exemption, placement: Placement,
                        printer: Printer, why: str) -> str:
    """The name of the plugin's running probe container in the pod: the one there, else a new one."""
    meta = pod["metadata"]
    where = f"{meta['namespace']}/{meta['name']}"
    for spec in (pod.get("spec") or {}).get("ephemeralContainers") or []:
        name = spec.get("name", "")
        if name.startswith(manifests.PROBE_CONTAINER_PREFIX) and spec.get("image") == placement.image and \
                "running" in podexec.ephemeral_state(pod, name) and \
                not exempt.exempts(*runas.declared_user(spec, pod)):
            return name
    uid, gid = runas.probe_user(exempt)
    name = podexec.new_name(pod, manifests.PROBE_CONTAINER_PREFIX)
    podexec.add_ephemeral(kube, pod, manifests.probe_container(name, placement.image, uid, gid))
    proxy = f", not the proxy's {','.join(map(str, exempt.uids))} whose traffic bypasses the sidecar" \
        if exempt.uids else ""
    printer.note(f"pod {where}: {why}, so the probe runs in ephemeral container {name} "
                 f"({placement.image.split('@')[0]}, UID {uid}{proxy}); it stays until the pod is replaced, "
                 "and later probes reuse it")
    podexec.wait_running(kube, meta["namespace"], meta["name"], name, placement.start_timeout)
    return name
