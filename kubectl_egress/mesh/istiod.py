"""An istiod Deployment read as its control plane: revision, version and ExternalName mode (pure).

How an istiod treats ExternalName Services, from pilot/pkg/features/pilot.go of each release:
- up to 1.19 an ExternalName Service is a mesh service of its own (`legacy`);
- 1.20 adds ENABLE_EXTERNAL_NAME_ALIAS, default false;
- 1.21 to 1.23 default it to true (`alias`); `ENABLE_EXTERNAL_NAME_ALIAS=false`, which the
  compatibility profile `compatibilityVersion: 1.20` sets on istiod
  (manifests/helm-profiles/compatibility-version-1.20.yaml), opts out;
- 1.24 removed the variable with the 1.20 compatibility profile (commit 3cb62000738 "Drop 1.20
  compatibility version", istio#52317): alias is the only mode and the flag is not read.
The variable is read by pkg/env as strconv.ParseBool reads it; a value that does not parse
leaves the default.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REVISION = "default"
SYSTEM_NAMESPACE = "istio-system"
REV_LABEL = "istio.io/rev"
ALIAS_FLAG = "ENABLE_EXTERNAL_NAME_ALIAS"
FLAG_SINCE = (1, 20)  # the flag appears (default false)
ALIAS_SINCE = (1, 21)  # the flag defaults to true
FLAG_DROPPED = (1, 24)  # the flag is no longer read
# Go's strconv.ParseBool, which pkg/env uses for boolean variables
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def release(version: str) -> tuple[int, ...]:
    """(major, minor, patch) to order versions by: 1.24.10 after 1.24.9, v1.24.3-distroless as 1.24.3;
    () when the version is unknown, so it comes first."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    return tuple(int(part or 0) for part in match.groups()) if match else ()


def parse_bool(text: str | None) -> bool | None:
    """strconv.ParseBool: True, False, or None when the text is not a Go boolean."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _discovery(deployment: dict) -> dict:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
    return next((c for c in containers if c.get("name") == "discovery"), containers[0])


def istiod_facts(deployment: dict) -> tuple[str, str | None]:
    """(version, ENABLE_EXTERNAL_NAME_ALIAS as written, or None) of an istiod Deployment.

    The version is the operator.istio.io/version label (istioctl up to 1.23), the
    app.kubernetes.io/version label (the Helm charts from 1.24), else the image tag.
    """
    labels = deployment.get("metadata", {}).get("labels") or {}
    version = labels.get("operator.istio.io/version") or labels.get("app.kubernetes.io/version") or ""
    container = _discovery(deployment)
    if not version:
        tag = container.get("image", "").rpartition(":")[2]
        if re.match(r"^\d+\.\d+", tag):
            version = tag.split("-")[0]
    alias = next((str(v["value"]) for v in container.get("env") or []
                  if v.get("name") == ALIAS_FLAG and "value" in v), None)
    return version, alias


def revision_of(deployment: dict) -> str:
    """The revision an istiod serves: its istio.io/rev label (the charts always set it), else its name."""
    meta = deployment.get("metadata") or {}
    rev = (meta.get("labels") or {}).get(REV_LABEL)
    if rev:
        return rev
    name = meta.get("name", "istiod")
    return name[len("istiod-"):] if name.startswith("istiod-") else DEFAULT_REVISION


def alias_mode(version: str, flag: str | None, who: str = "istiod") -> tuple[bool | None, str]:
    """(alias?, why) for an istiod of this version with this ENABLE_EXTERNAL_NAME_ALIAS value;
    alias is None when neither the version nor the flag says (version unknown, flag unset)."""
    at = minor(version)
    value = parse_bool(flag)
    said = f"{ALIAS_FLAG}={flag}"
    if at is None:
        if value is None:
            return None, f"{who}'s version is unknown"
        return value, f"{who} sets {said}, its version unknown"
    if at < FLAG_SINCE:
        return False, f"{who} {version}: an ExternalName Service is a mesh service before 1.21"
    if at >= FLAG_DROPPED:
        why = f"{who} {version}: alias is the only mode from 1.24"
        if flag is not None:
            why += f"; {said} is no longer read, the opt-out ended with 1.23 (istio#52317)"
        return True, why
    default = at >= ALIAS_SINCE
    if flag is not None and value is None:
        return default, f"{who} {version}: {said} is not a boolean, so the default applies"
    if value is not None:
        return value, f"{who} {version} sets {said}" + (", honoured from 1.21 to 1.23" if at >= ALIAS_SINCE else "")
    if default:
        return True, f"{who} {version} leaves {ALIAS_FLAG} unset, on by default from 1.21"
    return False, f"{who} {version} leaves {ALIAS_FLAG} unset, off by default in 1.20"


@dataclass(frozen=True)
class Revision:
    """One control plane: istiod (revision `default`) or istiod-NAME, and its mesh config."""

    name: str
    istiod: str  # the Deployment's name
    version: str
    alias: bool
    reason: str  # why alias or legacy, for `kubectl egress version`
    outbound: str = "ALLOW_ANY"  # meshConfig.outboundTrafficPolicy.mode
    outbound_source: str = ""  # where that was read
    root_namespace: str = SYSTEM_NAMESPACE  # meshConfig.rootNamespace

    @property
    def mode(self) -> str:
        return "alias" if self.alias else "legacy"

    @property
    def mesh_configmap(self) -> str:
        """istio-discovery templates/configmap.yaml: `istio`, or `istio-<rev>` for a revision."""
        return "istio" if self.name == DEFAULT_REVISION else f"istio-{self.name}"


def revision(deployment: dict, networking_version: str = "v1") -> Revision:
    """A Revision from its istiod Deployment (its mesh config still to read: see policy.py)."""
    version, flag = istiod_facts(deployment)
    name = (deployment.get("metadata") or {}).get("name", "istiod")
    alias, why = alias_mode(version, flag, name)
    if alias is None:
        # networking.istio.io/v1 is served from 1.22, which treats ExternalName as an alias
        alias = networking_version == "v1"
        why = (f"{why}: guessed from networking.istio.io/{networking_version} "
               "(v1 is served from 1.22, alias mode from 1.21)")
    return Revision(revision_of(deployment), name, version, alias, why)
