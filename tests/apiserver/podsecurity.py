"""Pod Security admission, as kube-apiserver's built-in PodSecurity plugin runs it.

Transcribed from k8s.io/pod-security-admission v0.33.1 (Kubernetes 1.33):
- policy/check_*.go: every check of the baseline and restricted levels, each in
  the versions it has (MinimumVersion), with its ForbiddenReason and
  ForbiddenDetail wording; policy/registry.go: which checks a level and version
  runs, in which order (baseline IDs sorted, then restricted IDs sorted; a
  restricted check's OverrideCheckIDs drop baseline ones), "latest" and versions
  past the newest check evaluated as the newest; policy/checks.go: how results
  aggregate (`reason (detail), reason, ...`).
- api/helpers.go PolicyToEvaluate: the namespace labels
  pod-security.kubernetes.io/{enforce,audit,warn}[-version], defaults
  privileged:latest (kube-apiserver's default configuration, no exemptions);
  warn follows an explicit enforce level that is stricter.
- admission/admission.go: pods (create, and updates that change an image or add
  an ephemeral container, so the pods/ephemeralcontainers subresource too; not
  exec, attach, binding, eviction, log, portforward, proxy, status) are refused
  with `pods "x" is forbidden: violates PodSecurity "restricted:latest": ...`
  (403, apierrors.NewForbidden); pod controllers (Deployments, ReplicaSets, ...)
  are never refused, only warned; namespaces must carry valid labels (422), and
  making enforce stricter warns about the pods already there.
- Warnings: `would violate PodSecurity "baseline:latest": ...` for the warn level.
  The audit level writes audit annotations, which this server has no audit log for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .errors import APIError, Cause, invalid

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .kinds import Kind

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
LABEL = "pod-security.kubernetes.io/"
LATEST = (1, 1 << 30)  # newer than any version
Version = tuple[int, int]

# -- helpers.go --------------------------------------------------------------------------------


def join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def named(names: list[str]) -> str:
    """`container "a"`, `containers "a", "b"`: how every check names containers."""
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


@dataclass(frozen=True)
class Result:
    """CheckResult: allowed, or why not (ForbiddenReason, ForbiddenDetail)."""

    allowed: bool = True
    reason: str = ""
    detail: str = ""


ALLOWED = Result()


def _containers(spec: dict) -> list[dict]:
    """visitContainers: init containers, containers, then ephemeral containers."""
    return [c for group in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(group) or [] if isinstance(c, dict)]


def _sc(container: dict) -> dict | None:
    sc = container.get("securityContext")
    return sc if isinstance(sc, dict) else None


def _pod_sc(spec: dict) -> dict | None:
    sc = spec.get("securityContext")
    return sc if isinstance(sc, dict) else None


def _windows(spec: dict) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"


def _not_windows(check: Callable[[dict, dict], Result]) -> Callable[[dict, dict], Result]:
    """The 1.25 versions: `Pod API validation would have failed if podOS == Windows ...`."""
    def versioned(meta: dict, spec: dict) -> Result:
        return ALLOWED if _windows(spec) else check(meta, spec)
    versioned.__name__ = check.__name__ + "_1_25"
    return versioned


# -- baseline checks ---------------------------------------------------------------------------
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def app_armor_profile(meta: dict, spec: dict) -> Result:
    """check_appArmorProfile.go appArmorProfile_1_0."""
    bad_setters: list[str] = []
    bad_values: set[str] = set()
    pod_sc = _pod_sc(spec)
    if pod_sc and isinstance(pod_sc.get("appArmorProfile"), dict):
        kind = pod_sc["appArmorProfile"].get("type", "")
        if kind not in ("RuntimeDefault", "Localhost"):
            bad_setters.append("pod")
            bad_values.add(kind)
    bad = []
    for c in _containers(spec):
        sc = _sc(c)
        if sc and isinstance(sc.get("appArmorProfile"), dict):
            kind = sc["appArmorProfile"].get("type", "")
            if kind not in ("RuntimeDefault", "Localhost"):
                bad.append(c.get("name", ""))
                bad_values.add(kind)
    if bad:
        bad_setters.append(named(bad))
    annotations = sorted(f'{k}="{v}"' for k, v in (meta.get("annotations") or {}).items()
                         if k.startswith(APPARMOR_ANNOTATION) and not (
                             v == "" or v == "runtime/default" or v.startswith("localhost/")))
    values = sorted(bad_values)
    if annotations:
        values += annotations
        bad_setters.append(pluralize("annotation", "annotations", len(annotations)))
    if bad_setters:
        return Result(False, pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                      f"{' and '.join(bad_setters)} must not set AppArmor profile type to {join_quote(values)}")
    return ALLOWED


CAPABILITIES_ALLOWED = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                        "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def capabilities_baseline(meta: dict, spec: dict) -> Result:
    """check_capabilities_baseline.go capabilitiesBaseline_1_0."""
    bad, caps = [], set()
    for c in _containers(spec):
        sc = _sc(c)
        if sc and isinstance(sc.get("capabilities"), dict):
            added = [a for a in sc["capabilities"].get("add") or [] if a not in CAPABILITIES_ALLOWED]
            caps.update(added)
            if added:
                bad.append(c.get("name", ""))
    if bad:
        return Result(False, "non-default capabilities",
                      f"{named(bad)} must not include "
                      f"{join_quote(sorted(caps))} in securityContext.capabilities.add")
    return ALLOWED


def host_namespaces(meta: dict, spec: dict) -> Result:
    """check_hostNamespaces.go hostNamespaces_1_0."""
    found = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    return Result(False, "host namespaces", ", ".join(found)) if found else ALLOWED


def host_path_volumes(meta: dict, spec: dict) -> Result:
    """check_hostPathVolumes.go hostPathVolumes_1_0."""
    names = [v.get("name", "") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if names:
        return Result(False, "hostPath volumes", f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}")
    return ALLOWED


def host_ports(meta: dict, spec: dict) -> Result:
    """check_hostPorts.go hostPorts_1_0."""
    bad, ports = [], set()
    for c in _containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        ports.update(used)
        if used:
            bad.append(c.get("name", ""))
    if bad:
        return Result(False, "hostPort",
                      f"{named(bad)} "
                      f"{pluralize('uses', 'use', len(bad))} {pluralize('hostPort', 'hostPorts', len(ports))} "
                      f"{', '.join(sorted(ports))}")
    return ALLOWED


def privileged(meta: dict, spec: dict) -> Result:
    """check_privileged.go privileged_1_0."""
    bad = [c.get("name", "") for c in _containers(spec) if (_sc(c) or {}).get("privileged") is True]
    if bad:
        return Result(False, "privileged", f"{named(bad)} "
                      "must not set securityContext.privileged=true")
    return ALLOWED


def proc_mount(meta: dict, spec: dict) -> Result:
    """check_procMount.go procMount_1_0."""
    bad, kinds = [], set()
    for c in _containers(spec):
        mount = (_sc(c) or {}).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(c.get("name", ""))
            kinds.add(mount)
    if bad:
        return Result(False, "procMount", f"{named(bad)} "
                      f"must not set securityContext.procMount to {join_quote(sorted(kinds))}")
    return ALLOWED


SELINUX_TYPES_1_0 = {"", "container_t", "container_init_t", "container_kvm_t"}
SELINUX_TYPES_1_31 = SELINUX_TYPES_1_0 | {"container_engine_t"}


def _selinux(allowed_types: set[str]) -> Callable[[dict, dict], Result]:
    def se_linux_options(meta: dict, spec: dict) -> Result:
        """check_seLinuxOptions.go seLinuxOptions (1.0, and 1.31 with container_engine_t)."""
        bad_setters, bad_types = [], set()
        flags = {"user": False, "role": False}

        def valid(opts: dict) -> bool:
            ok = True
            if opts.get("type", "") not in allowed_types:
                ok = False
                bad_types.add(opts.get("type", ""))
            for key in ("user", "role"):
                if opts.get(key):
                    ok = False
                    flags[key] = True
            return ok

        pod_sc = _pod_sc(spec)
        if pod_sc and isinstance(pod_sc.get("seLinuxOptions"), dict) and not valid(pod_sc["seLinuxOptions"]):
            bad_setters.append("pod")
        bad = [c.get("name", "") for c in _containers(spec)
               if isinstance((_sc(c) or {}).get("seLinuxOptions"), dict) and not valid(_sc(c)["seLinuxOptions"])]
        if bad:
            bad_setters.append(named(bad))
        if bad_setters:
            data = []
            if bad_types:
                data.append(f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
            if flags["user"]:
                data.append("user may not be set")
            if flags["role"]:
                data.append("role may not be set")
            return Result(False, "seLinuxOptions", f"{' and '.join(bad_setters)} set forbidden "
                          f"securityContext.seLinuxOptions: {'; '.join(data)}")
        return ALLOWED
    return se_linux_options


SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def seccomp_profile_baseline_1_0(meta: dict, spec: dict) -> Result:
    """check_seccompProfile_baseline.go seccompProfileBaseline_1_0 (the annotations)."""
    def valid(value: str) -> bool:
        return value in ("runtime/default", "docker/default") or value.startswith("localhost/")

    annotations = meta.get("annotations") or {}
    forbidden = set()
    if SECCOMP_POD_ANNOTATION in annotations and not valid(annotations[SECCOMP_POD_ANNOTATION]):
        forbidden.add(f'{SECCOMP_POD_ANNOTATION}="{annotations[SECCOMP_POD_ANNOTATION]}"')
    for c in _containers(spec):
        key = SECCOMP_CONTAINER_ANNOTATION + c.get("name", "")
        if key in annotations and not valid(annotations[key]):
            forbidden.add(f'{key}="{annotations[key]}"')
    if forbidden:
        return Result(False, "seccompProfile", f"forbidden {pluralize('annotation', 'annotations', len(forbidden))} "
                      f"{', '.join(sorted(forbidden))}")
    return ALLOWED


def _seccomp_type(sc: dict | None) -> str | None:
    profile = (sc or {}).get("seccompProfile")
    return profile.get("type", "") if isinstance(profile, dict) else None


def seccomp_profile_baseline_1_19(meta: dict, spec: dict) -> Result:
    """check_seccompProfile_baseline.go seccompProfileBaseline_1_19 (the fields)."""
    bad_setters, values = [], set()
    kind = _seccomp_type(_pod_sc(spec))
    if kind is not None and kind not in ("Localhost", "RuntimeDefault"):
        bad_setters.append("pod")
        values.add(kind)
    bad = []
    for c in _containers(spec):
        kind = _seccomp_type(_sc(c))
        if kind is not None and kind not in ("Localhost", "RuntimeDefault"):
            bad.append(c.get("name", ""))
            values.add(kind)
    if bad:
        bad_setters.append(named(bad))
    if bad_setters:
        return Result(False, "seccompProfile", f"{' and '.join(bad_setters)} must not set "
                      f"securityContext.seccompProfile.type to {join_quote(sorted(values))}")
    return ALLOWED


SYSCTLS_1_0 = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
               "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}


def _sysctls(allowed: set[str]) -> Callable[[dict, dict], Result]:
    def sysctls(meta: dict, spec: dict) -> Result:
        """check_sysctls.go sysctls (1.0, 1.27, 1.29, 1.32 allow more)."""
        bad = [s.get("name", "") for s in (_pod_sc(spec) or {}).get("sysctls") or []
               if s.get("name", "") not in allowed]
        return Result(False, "forbidden sysctls", ", ".join(bad)) if bad else ALLOWED
    return sysctls


def windows_host_process(meta: dict, spec: dict) -> Result:
    """check_windowsHostProcess.go windowsHostProcess_1_0."""
    def host_process(sc: dict | None) -> bool:
        return ((sc or {}).get("windowsOptions") or {}).get("hostProcess") is True

    setters = ["pod"] if host_process(_pod_sc(spec)) else []
    bad = [c.get("name", "") for c in _containers(spec) if host_process(_sc(c))]
    if bad:
        setters.append(named(bad))
    if setters:
        return Result(False, "hostProcess", f"{' and '.join(setters)} must not set "
                      "securityContext.windowsOptions.hostProcess=true")
    return ALLOWED


# -- restricted checks -------------------------------------------------------------------------
def allow_privilege_escalation(meta: dict, spec: dict) -> Result:
    """check_allowPrivilegeEscalation.go allowPrivilegeEscalation_1_8."""
    bad = [c.get("name", "") for c in _containers(spec)
           if (_sc(c) or {}).get("allowPrivilegeEscalation") is not False]
    if bad:
        return Result(False, "allowPrivilegeEscalation != false",
                      f"{named(bad)} must set "
                      "securityContext.allowPrivilegeEscalation=false")
    return ALLOWED


def capabilities_restricted(meta: dict, spec: dict) -> Result:
    """check_capabilities_restricted.go capabilitiesRestricted_1_22."""
    missing, adding, caps = [], [], set()
    for c in _containers(spec):
        sc = _sc(c)
        if sc is None or not isinstance(sc.get("capabilities"), dict):
            missing.append(c.get("name", ""))
            continue
        if "ALL" not in (sc["capabilities"].get("drop") or []):
            missing.append(c.get("name", ""))
        added = [a for a in sc["capabilities"].get("add") or [] if a != "NET_BIND_SERVICE"]
        caps.update(added)
        if added:
            adding.append(c.get("name", ""))
    details = []
    if missing:
        details.append(f"{named(missing)} must set "
                       'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{named(adding)} must not "
                       f"include {join_quote(sorted(caps))} in securityContext.capabilities.add")
    return Result(False, "unrestricted capabilities", "; ".join(details)) if details else ALLOWED


ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
                   "projected", "secret")
RESTRICTED_VOLUMES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
                      "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
                      "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
                      "scaleIO", "storageos")


def restricted_volumes(meta: dict, spec: dict) -> Result:
    """check_restrictedVolumes.go restrictedVolumes_1_0."""
    bad, kinds = [], set()
    for volume in spec.get("volumes") or []:
        if any(volume.get(k) is not None for k in ALLOWED_VOLUMES):
            continue
        bad.append(volume.get("name", ""))
        kinds.add(next((k for k in RESTRICTED_VOLUMES if volume.get(k) is not None), "unknown"))
    if bad:
        return Result(False, "restricted volume types",
                      f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} "
                      f"{pluralize('uses', 'use', len(bad))} "
                      f"{pluralize('restricted volume type', 'restricted volume types', len(kinds))} "
                      f"{join_quote(sorted(kinds))}")
    return ALLOWED


def run_as_non_root(meta: dict, spec: dict) -> Result:
    """check_runAsNonRoot.go runAsNonRoot_1_0."""
    bad_setters, pod_non_root = [], False
    pod_value = (_pod_sc(spec) or {}).get("runAsNonRoot")
    if pod_value is not None:
        if not pod_value:
            bad_setters.append("pod")
        else:
            pod_non_root = True
    explicit, implicit = [], []
    for c in _containers(spec):
        value = (_sc(c) or {}).get("runAsNonRoot")
        if value is not None:
            if not value:
                explicit.append(c.get("name", ""))
        elif not pod_non_root:
            implicit.append(c.get("name", ""))
    if explicit:
        bad_setters.append(named(explicit))
    if bad_setters:
        return Result(False, "runAsNonRoot != true",
                      f"{' and '.join(bad_setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return Result(False, "runAsNonRoot != true",
                      f"pod or {named(implicit)} "
                      "must set securityContext.runAsNonRoot=true")
    return ALLOWED


def run_as_user(meta: dict, spec: dict) -> Result:
    """check_runAsUser.go runAsUser_1_23."""
    setters = ["pod"] if (_pod_sc(spec) or {}).get("runAsUser") == 0 else []
    bad = [c.get("name", "") for c in _containers(spec) if (_sc(c) or {}).get("runAsUser") == 0]
    if bad:
        setters.append(named(bad))
    if setters:
        return Result(False, "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")
    return ALLOWED


def seccomp_profile_restricted(meta: dict, spec: dict) -> Result:
    """check_seccompProfile_restricted.go seccompProfileRestricted_1_19."""
    bad_setters, values, pod_set = [], set(), False
    kind = _seccomp_type(_pod_sc(spec))
    if kind is not None:
        if kind not in ("Localhost", "RuntimeDefault"):
            bad_setters.append("pod")
            values.add(kind)
        else:
            pod_set = True
    explicit, implicit = [], []
    for c in _containers(spec):
        kind = _seccomp_type(_sc(c))
        if kind is not None:
            if kind not in ("Localhost", "RuntimeDefault"):
                explicit.append(c.get("name", ""))
                values.add(kind)
        elif not pod_set:
            implicit.append(c.get("name", ""))
    if explicit:
        bad_setters.append(named(explicit))
    if bad_setters:
        return Result(False, "seccompProfile", f"{' and '.join(bad_setters)} must not set "
                      f"securityContext.seccompProfile.type to {join_quote(sorted(values))}")
    if implicit:
        return Result(False, "seccompProfile",
                      f"pod or {named(implicit)} must "
                      'set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return ALLOWED


# -- the registry (registry.go) ----------------------------------------------------------------
@dataclass(frozen=True)
class Versioned:
    minimum: Version
    check: Callable[[dict, dict], Result]
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    versions: tuple[Versioned, ...] = field(default=())

    def at(self, version: Version) -> Versioned | None:
        found = None
        for v in self.versions:
            if v.minimum <= version:
                found = v
        return found


CHECKS = (
    Check("appArmorProfile", BASELINE, (Versioned((1, 0), app_armor_profile),)),
    Check("capabilities_baseline", BASELINE, (Versioned((1, 0), capabilities_baseline),)),
    Check("hostNamespaces", BASELINE, (Versioned((1, 0), host_namespaces),)),
    Check("hostPathVolumes", BASELINE, (Versioned((1, 0), host_path_volumes),)),
    Check("hostPorts", BASELINE, (Versioned((1, 0), host_ports),)),
    Check("privileged", BASELINE, (Versioned((1, 0), privileged),)),
    Check("procMount", BASELINE, (Versioned((1, 0), proc_mount),)),
    Check("seLinuxOptions", BASELINE, (Versioned((1, 0), _selinux(SELINUX_TYPES_1_0)),
                                       Versioned((1, 31), _selinux(SELINUX_TYPES_1_31)))),
    Check("seccompProfile_baseline", BASELINE, (Versioned((1, 0), seccomp_profile_baseline_1_0),
                                                Versioned((1, 19), seccomp_profile_baseline_1_19))),
    Check("sysctls", BASELINE, (Versioned((1, 0), _sysctls(SYSCTLS_1_0)), Versioned((1, 27), _sysctls(SYSCTLS_1_27)),
                                Versioned((1, 29), _sysctls(SYSCTLS_1_29)), Versioned((1, 32), _sysctls(SYSCTLS_1_32)))),
    Check("windowsHostProcess", BASELINE, (Versioned((1, 0), windows_host_process),)),
    Check("allowPrivilegeEscalation", RESTRICTED, (Versioned((1, 8), allow_privilege_escalation),
                                                   Versioned((1, 25), _not_windows(allow_privilege_escalation)))),
    Check("capabilities_restricted", RESTRICTED, (
        Versioned((1, 22), capabilities_restricted, ("capabilities_baseline",)),
        Versioned((1, 25), _not_windows(capabilities_restricted), ("capabilities_baseline",)))),
    Check("restrictedVolumes", RESTRICTED, (Versioned((1, 0), restricted_volumes, ("hostPathVolumes",)),)),
    Check("runAsNonRoot", RESTRICTED, (Versioned((1, 0), run_as_non_root),)),
    Check("runAsUser", RESTRICTED, (Versioned((1, 23), run_as_user),)),
    Check("seccompProfile_restricted", RESTRICTED, (
        Versioned((1, 19), seccomp_profile_restricted, ("seccompProfile_baseline",)),
        Versioned((1, 25), _not_windows(seccomp_profile_restricted), ("seccompProfile_baseline",)))),
)
MAX_VERSION: Version = max(c.versions[-1].minimum for c in CHECKS)  # 1.32


def checks_for(level: str, version: Version) -> list[Callable[[dict, dict], Result]]:
    """The checks a level runs at a version, in registry.go's order."""
    if level == PRIVILEGED:
        return []
    version = min(version, MAX_VERSION)
    baseline = sorted((c for c in CHECKS if c.level == BASELINE), key=lambda c: c.id)
    restricted = sorted((c for c in CHECKS if c.level == RESTRICTED), key=lambda c: c.id)
    active = {c.id: c.at(version) for c in baseline + restricted}
    if level == BASELINE:
        return [active[c.id].check for c in baseline if active[c.id]]
    overridden = {o for c in restricted if active[c.id] for o in active[c.id].overrides}
    return [active[c.id].check for c in baseline + restricted
            if active[c.id] and not (c.level == BASELINE and c.id in overridden)]


def evaluate(level: str, version: Version, meta: dict, spec: dict) -> list[Result]:
    """Evaluator.EvaluatePod: the failed checks' results, in order."""
    return [r for r in (check(meta, spec) for check in checks_for(level, version)) if not r.allowed]


def forbidden_detail(results: list[Result]) -> str:
    """AggregateCheckResult.ForbiddenDetail: `reason (detail), reason, ...`."""
    return ", ".join(f"{r.reason or 'unknown forbidden reason'} ({r.detail})" if r.detail
                     else r.reason or "unknown forbidden reason" for r in results)


def forbidden_reason(results: list[Result]) -> str:
    return ", ".join(r.reason or "unknown forbidden reason" for r in results)


# -- the namespace's policy (api/helpers.go) -----------------------------------------------------
@dataclass(frozen=True)
class LevelVersion:
    level: str = PRIVILEGED
    version: Version = LATEST

    def __str__(self) -> str:
        shown = "latest" if self.version == LATEST else f"v{self.version[0]}.{self.version[1]}"
        return f"{self.level}:{shown}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion = LevelVersion()
    audit: LevelVersion = LevelVersion()
    warn: LevelVersion = LevelVersion()

    def fully_privileged(self) -> bool:
        return all(lv.level == PRIVILEGED for lv in (self.enforce, self.audit, self.warn))


VERSION_RE = re.compile(r"v1\.([0-9]|[1-9][0-9]*)")


def _level(value: str) -> tuple[str, str]:
    if value in LEVELS:
        return value, ""
    return RESTRICTED, "must be one of privileged, baseline, restricted"


def _version(value: str) -> tuple[Version, str]:
    if value == "latest":
        return LATEST, ""
    match = VERSION_RE.fullmatch(value)
    if not match:
        return LATEST, 'must be "latest" or "v1.x"'
    return (1, int(match.group(1))), ""


def _strictness(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def policy_to_evaluate(labels: dict | None) -> tuple[Policy, list[Cause]]:
    """PolicyToEvaluate: the policy the labels give (defaults privileged:latest), and their errors."""
    labels = labels or {}
    errors: list[Cause] = []
    modes: dict[str, LevelVersion] = {}
    has_enforce_level = has_warn_level = has_warn_version = False

    def error(label: str, value: str, text: str) -> None:
        errors.append(Cause("FieldValueInvalid", f'Invalid value: "{value}": {text}',
                            f"metadata.labels[{LABEL}{label}]"))

    for mode in ("enforce", "audit", "warn"):
        level, version = PRIVILEGED, LATEST
        key = LABEL + mode
        if key in labels:
            level, why = _level(labels[key])
            if why:
                error(mode, labels[key], why)
                if mode != "enforce":
                    level = PRIVILEGED  # fail open for audit and warn
            elif mode == "enforce":
                has_enforce_level = True
            if mode == "warn":
                has_warn_level = True
        vkey = f"{key}-version"
        if vkey in labels:
            version, why = _version(labels[vkey])
            if why:
                error(f"{mode}-version", labels[vkey], why)
            if mode == "warn":
                has_warn_version = True
        modes[mode] = LevelVersion(level, version)
    warn = modes["warn"]
    if not has_warn_level and has_enforce_level and \
            _strictness(modes["enforce"].level) > _strictness(warn.level):
        warn = LevelVersion(modes["enforce"].level, warn.version if has_warn_version else modes["enforce"].version)
    return Policy(modes["enforce"], modes["audit"], warn), errors


# -- admission (admission/admission.go) ----------------------------------------------------------
IGNORED_POD_SUBRESOURCES = {"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"}
POD_CONTROLLERS = {"/replicationcontrollers", "/podtemplates", "apps/replicasets", "apps/deployments",
                   "apps/statefulsets", "apps/daemonsets", "batch/jobs", "batch/cronjobs"}


def _template(obj: dict, key: str) -> tuple[dict, dict] | None:
    """DefaultPodSpecExtractor: the pod template's metadata and spec."""
    spec = obj.get("spec") or {}
    if key == "batch/cronjobs":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template") if key != "/podtemplates" else obj.get("template")
    if not isinstance(template, dict):
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


def _significant(pod: dict, old: dict) -> bool:
    """isSignificantPodUpdate: a container added or removed, an image changed, an ephemeral
    container added or changed."""
    new_spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
    for group in ("containers", "initContainers"):
        a, b = new_spec.get(group) or [], old_spec.get(group) or []
        if len(a) != len(b) or any(x.get("image") != y.get("image") for x, y in zip(a, b)):
            return True
    previous = {c.get("name"): c for c in old_spec.get("ephemeralContainers") or []}
    return any(c.get("name") not in previous or c.get("image") != previous[c.get("name")].get("image")
               for c in new_spec.get("ephemeralContainers") or [])


def _warnings(policy: Policy, meta: dict, spec: dict) -> list[str]:
    results = evaluate(policy.warn.level, policy.warn.version, meta, spec)
    if results:
        return [f'would violate PodSecurity "{policy.warn}": {forbidden_detail(results)}']
    return []


def admit(cluster: "Cluster", kind: "Kind", obj: dict, old: dict | None, sub: str) -> list[str]:
    """Validate a write as the PodSecurity admission plugin does: its warnings, or an APIError."""
    if kind.key == "/namespaces":
        return _admit_namespace(cluster, obj, old, sub)
    if kind.key == "/pods":
        if sub in IGNORED_POD_SUBRESOURCES:
            return []
        namespace = cluster.store.get("/namespaces", "", obj["metadata"].get("namespace", "")) or {}
        policy, errors = policy_to_evaluate((namespace.get("metadata") or {}).get("labels"))
        if not errors and policy.fully_privileged():
            return []
        if old is not None and not _significant(obj, old):
            return []
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        results = evaluate(policy.enforce.level, policy.enforce.version, meta, spec)
        if results:
            name = meta.get("name", "")
            message = f'violates PodSecurity "{policy.enforce}": {forbidden_detail(results)}'
            raise APIError(403, "Forbidden", f'pods "{name}" is forbidden: {message}' if name else
                           f"pods is forbidden: {message}", {"name": name, "kind": "pods"} if name else {"kind": "pods"})
        return _warnings(policy, meta, spec)
    if kind.key in POD_CONTROLLERS and not sub:
        namespace = cluster.store.get("/namespaces", "", obj["metadata"].get("namespace", "")) or {}
        policy, errors = policy_to_evaluate((namespace.get("metadata") or {}).get("labels"))
        if not errors and policy.warn.level == PRIVILEGED and policy.audit.level == PRIVILEGED:
            return []
        template = _template(obj, kind.key)
        return _warnings(policy, *template) if template else []
    return []


def _admit_namespace(cluster: "Cluster", ns: dict, old: dict | None, sub: str) -> list[str]:
    """ValidateNamespace: valid labels, and a stricter enforce level checked against the pods there."""
    if sub:
        return []
    name = ns["metadata"].get("name", "")
    policy, errors = policy_to_evaluate((ns.get("metadata") or {}).get("labels"))
    if old is None:
        if errors:
            raise invalid("Namespace", name, errors)
        return []
    old_policy, old_errors = policy_to_evaluate((old.get("metadata") or {}).get("labels"))
    if errors and (not old_errors or errors != old_errors):
        raise invalid("Namespace", name, errors)
    if policy.enforce == old_policy.enforce or policy.enforce.level == PRIVILEGED:
        return []
    if policy.enforce.version == old_policy.enforce.version and \
            _strictness(policy.enforce.level) <= _strictness(old_policy.enforce.level):
        return []
    return _pods_in_namespace(cluster, name, policy.enforce)


def _pods_in_namespace(cluster: "Cluster", namespace: str, enforce: LevelVersion) -> list[str]:
    """EvaluatePodsInNamespace: one warning per distinct set of reasons, naming a pod."""
    pods = cluster.store.items("/pods", namespace)
    # prioritizePods: pods without a controller, and the first of each controller, come first
    first, rest, seen = [], [], set()
    for pod in pods:
        owner = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if owner is None:
            first.append(pod)
        elif owner.get("uid") in seen:
            rest.append(pod)
        else:
            seen.add(owner.get("uid"))
            first.append(pod)
    counts: dict[str, list] = {}
    order: list[str] = []
    for pod in first + rest:
        results = evaluate(enforce.level, enforce.version, pod.get("metadata") or {}, pod.get("spec") or {})
        if not results:
            continue
        reason = forbidden_reason(results)
        name = pod["metadata"]["name"]
        if reason not in counts:
            counts[reason] = [name, 0]
            order.append(reason)
        elif name < counts[reason][0]:
            counts[reason][0] = name
        counts[reason][1] += 1
    if not order:
        return []
    decorated = []
    for reason in order:
        name, count = counts[reason]
        if count == 1:
            decorated.append(f"{name}: {reason}")
        elif count == 2:
            decorated.append(f"{name} (and 1 other pod): {reason}")
        else:
            decorated.append(f"{name} (and {count - 1} other pods): {reason}")
    return [f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level "{enforce}"',
            *sorted(decorated)]
