"""Pure builders: a Target in, the objects of the SCENARIO.md recipes out. No I/O.

Recipe 1 (ExternalName): a Service of type ExternalName whose port is named
after its Istio protocol, and a DestinationRule for `NAME.NS.svc.cluster.local`
that turns Istio mutual TLS off. Recipe 2 (endpoints): a selector-less Service,
its endpoints (EndpointSlices, or the seed's v1 Endpoints), and the same
DestinationRule.
"""
from __future__ import annotations

from .model import (ENDPOINTS, ENDPOINT_SLICES, HOST_ANNOTATION, ISTIO_PROTOCOL, MANAGED_BY, MANAGER,
                    OS_CA_BUNDLE, RECIPE_LABEL, SERVICE_ENTRY_RECIPE, SERVICES, SLICE_MANAGED_BY,
                    SLICE_SERVICE_NAME, Entry, Mesh, Origination, Target)


def _meta(target: Target, name: str | None = None, labels: dict | None = None,
          annotations: dict | None = None) -> dict:
    meta: dict = {"name": name or target.name, "namespace": target.namespace,
                  "labels": {MANAGED_BY: MANAGER, **(labels or {})}}
    if annotations:
        meta["annotations"] = annotations
    return meta


def service_port(target: Target) -> dict:
    """The one port, named after its protocol so that Istio picks it (`http`, `tls`, ...)."""
    return {"name": target.protocol, "protocol": "TCP", "port": target.port}


def service(target: Target) -> dict:
    if target.external_name:
        spec: dict = {"type": "ExternalName", "externalName": target.host,
                      "ports": [service_port(target)]}
        annotations = None
    else:
        spec = {"type": "ClusterIP", "ports": [service_port(target)]}
        families = target.families
        if families == ("IPv6",):
            spec["ipFamilies"] = ["IPv6"]
            spec["ipFamilyPolicy"] = "SingleStack"
        elif len(families) == 2:
            spec["ipFamilies"] = ["IPv4", "IPv6"]
            spec["ipFamilyPolicy"] = "PreferDualStack"
        annotations = {HOST_ANNOTATION: target.host} if target.host else None
    return {"apiVersion": SERVICES.api_version, "kind": "Service",
            "metadata": _meta(target, annotations=annotations), "spec": spec}


def slice_name(target: Target, family: str) -> str:
    return f"{target.name}-{family.lower()}"


def endpoint_slices(target: Target) -> list[dict]:
    """One EndpointSlice per address family (a slice holds one addressType)."""
    slices = []
    for family in target.families:
        addresses = [str(ip) for ip in target.ips if f"IPv{ip.version}" == family]
        slices.append({
            "apiVersion": ENDPOINT_SLICES.api_version, "kind": "EndpointSlice",
            "metadata": _meta(target, slice_name(target, family),
                              {SLICE_SERVICE_NAME: target.name, SLICE_MANAGED_BY: MANAGER}),
            "addressType": family,
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
            "ports": [{"name": target.protocol, "protocol": "TCP", "port": target.port}],
        })
    return slices


def _repack_order(ip) -> bytes:
    # the API server sorts Endpoints addresses by their 16-byte form (RepackSubsets)
    return ip.packed if ip.version == 6 else b"\0" * 10 + b"\xff\xff" + ip.packed


def endpoints(target: Target) -> dict:
    """The seed's v1 Endpoints: port names equal the Service's (istio#18624)."""
    return {"apiVersion": ENDPOINTS.api_version, "kind": "Endpoints",
            "metadata": _meta(target),
            "subsets": [{"addresses": [{"ip": str(ip)} for ip in sorted(target.ips, key=_repack_order)],
                         "ports": [{"name": target.protocol, "port": target.port, "protocol": "TCP"}]}]}


def rule_host(target: Target, mesh: Mesh) -> str:
    """The host Istio applies rules to: the external host for an ExternalName alias (1.21+),
    else the Service's in-cluster name."""
    return target.host if mesh.alias and target.external_name else target.fqdn


def origination_tls(host: str, origination: Origination) -> dict:
    """SIMPLE client TLS for one host: its SNI, and its certificate checked against the OS roots.

    sni is explicit because auto SNI (1.21+) would send the Host header, which for an alias is the
    Service's name; subjectAltNames because Istio validates names automatically only with auto SNI
    (cluster_tls.go setAutoSniAndAutoSanValidation); caCertificates names the OS bundle because an
    empty one verifies nothing up to Istio 1.20 and is what IST0128/IST0129 report."""
    tls: dict = {"mode": "SIMPLE", "sni": host}
    if origination.verify == "skip":
        tls["insecureSkipVerify"] = True
    else:
        tls["caCertificates"] = OS_CA_BUNDLE
        tls["subjectAltNames"] = [host]
    return tls


def origination_rule(meta: dict, host: str, port: int, origination: Origination, api_version: str) -> dict:
    """Istio's "Egress TLS Origination" DestinationRule: SIMPLE TLS on the port the app calls."""
    return {"apiVersion": api_version, "kind": "DestinationRule", "metadata": meta,
            "spec": {"host": host, "trafficPolicy": {"portLevelSettings": [
                {"port": {"number": port}, "tls": origination_tls(host, origination)}]}}}


def entry_ports(port: int, protocol: str, origination: Origination | None) -> list[dict]:
    """The ServiceEntry's ports; with origination, the task's two: the app's HTTP port sent on to
    targetPort, and the HTTPS port for apps that speak TLS themselves."""
    if origination is None:
        return [{"number": port, "name": protocol, "protocol": ISTIO_PROTOCOL[protocol]}]
    ports = [{"number": port, "name": "http", "protocol": "HTTP", "targetPort": origination.target_port}]
    if origination.target_port != port:
        ports.append({"number": origination.target_port, "name": "https", "protocol": "HTTPS"})
    return ports


def destination_rule(target: Target, mesh: Mesh) -> dict | None:
    """Turns Istio mTLS off (or sets another mode) for the service's mesh host; or originates TLS on the
    external host (the alias's host from 1.21; up to 1.20, where the route of virtual_service leads)."""
    if not mesh.istio:
        return None
    if target.origination is not None:
        host = target.host if target.external_name else rule_host(target, mesh)
        return origination_rule(_meta(target), host, target.port, target.origination, mesh.api_version)
    if target.tls_mode is None:
        return None
    return {"apiVersion": mesh.api_version, "kind": "DestinationRule",
            "metadata": _meta(target),
            "spec": {"host": rule_host(target, mesh), "trafficPolicy": {"tls": {"mode": target.tls_mode}}}}


def service_entry(target: Target, mesh: Mesh) -> dict | None:
    """Istio 1.21+: the external host as a mesh service (an ExternalName Service is only its alias); up to
    1.20, the same for TLS origination, where virtual_service routes the Service's traffic to it."""
    if not (target.external_name and (mesh.alias or (mesh.istio and target.origination is not None))):
        return None
    return {"apiVersion": mesh.api_version, "kind": "ServiceEntry",
            "metadata": _meta(target),
            "spec": {"hosts": [target.host], "location": "MESH_EXTERNAL", "resolution": "DNS",
                     "ports": entry_ports(target.port, target.protocol, target.origination)}}


def virtual_service(target: Target, mesh: Mesh) -> dict | None:
    """Up to Istio 1.20, TLS origination for an ExternalName Service: its own Istio service sends traffic
    to HOST on the Service's port (pilot ExternalNameEndpoints uses the port, not targetPort), so an
    HTTP route sends it to HOST's ServiceEntry port instead, whose targetPort and rule originate TLS
    (the route the task itself used before ServiceEntry targetPort, Istio 1.8)."""
    if not (mesh.istio and not mesh.alias and target.external_name and target.origination is not None):
        return None
    return {"apiVersion": mesh.api_version, "kind": "VirtualService", "metadata": _meta(target),
            "spec": {"hosts": [target.fqdn], "http": [{"route": [{"destination": {
                "host": target.host, "port": {"number": target.port}}}]}]}}


def entry_objects(entry: Entry, mesh: Mesh) -> list[dict]:
    """`kubectl egress serviceentry`: the ServiceEntry, and the DestinationRule that originates TLS."""
    meta = {"name": entry.name, "namespace": entry.namespace,
            "labels": {MANAGED_BY: MANAGER, RECIPE_LABEL: SERVICE_ENTRY_RECIPE}}
    spec: dict = {"hosts": list(entry.hosts)}
    if entry.addresses:
        spec["addresses"] = list(entry.addresses)
    spec["location"] = entry.location
    spec["resolution"] = entry.resolution
    spec["ports"] = entry_ports(entry.port, entry.protocol, entry.origination)
    if entry.endpoints:
        spec["endpoints"] = [{"address": address} for address in entry.endpoints]
    if entry.export_to:
        spec["exportTo"] = list(entry.export_to)
    out = [{"apiVersion": mesh.api_version, "kind": "ServiceEntry", "metadata": meta, "spec": spec}]
    if entry.origination is not None:
        rule = origination_rule(dict(meta, labels=dict(meta["labels"])), entry.hosts[0], entry.port,
                                entry.origination, mesh.api_version)
        if entry.export_to:  # the rule is seen where the entry is
            rule["spec"]["exportTo"] = list(entry.export_to)
        out.append(rule)
    return out


def objects(target: Target, mesh: Mesh, shared: bool = False) -> list[dict]:
    """Everything one egress service consists of, in the order to create it.

    shared: the host is already in a ServiceEntry that `kubectl egress serviceentry` made, whose
    rules apply to it; the alias then needs only its Service."""
    out = [service(target)]
    if not target.external_name:
        out.extend(endpoint_slices(target) if target.endpoints_api == "endpointslice"
                   else [endpoints(target)])
    if not shared:
        out.extend(obj for obj in (service_entry(target, mesh), destination_rule(target, mesh)) if obj)
    route = virtual_service(target, mesh)
    if route:
        out.append(route)
    return out


# -- probe sources: Istio's curl sample (samples/curl/curl.yaml), labelled as ours ------------
SOURCE_NAME = "curl"
SOURCE_ROLE = "kubectl-egress/role"

# -- the probe's own containers: the sources --deploy-sources makes, and the ephemeral one --------
# The curl image the plugin runs its probe in, pinned by tag and digest: curl 8.11.1 on Alpine,
# with BusyBox's POSIX sh, USER curl_user, 100:101 (curl/curl-container create_base_image.sh and
# create_appliance_image.sh). The sources and ephemeral probe containers use it; --image gives a mirror.
PROBE_IMAGE = ("curlimages/curl:8.11.1"
               "@sha256:c1fe1679c34d9784c1b0d1e5f62ac0a79fca01fb6377cdd33e90473c6f9f9a69")
# curl_user of PROBE_IMAGE, by number: the kubelet verifies runAsNonRoot only for a numeric user
# (kuberuntime verifyRunAsNonRoot refuses a user name), so the sources say it
PROBE_UID, PROBE_GID = 100, 101
# What a source asks the scheduler for: a container that sleeps, then runs --parallel curls for the
# length of a probe. No limits: a limit would throttle or kill the curls of a large probe.
SOURCE_REQUESTS = {"cpu": "10m", "memory": "32Mi"}


def restricted_security_context(uid: int, gid: int) -> dict:
    """A container securityContext that Pod Security "restricted" admits (k8s.io/pod-security-admission
    policy: check_runAsNonRoot, check_runAsUser, check_allowPrivilegeEscalation,
    check_capabilities_restricted, check_seccompProfile_restricted), with a numeric user, which the
    kubelet can verify is not root (kuberuntime verifyRunAsNonRoot refuses a user name)."""
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def source_namespace(name: str) -> dict:
    """A namespace for the source without sidecar: injection off."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {MANAGED_BY: MANAGER, "istio-injection": "disabled",
                                                  SOURCE_ROLE: "probe-source"}}}


def source_objects(namespace: str, sidecar: bool, image: str = PROBE_IMAGE) -> list[dict]:
    """The curl sample: a ServiceAccount and a Deployment whose pod sleeps until exec'd into.

    Hardened for the namespaces it lands in: the pinned image (or a mirror of it), the restricted
    container context, and RuntimeDefault seccomp for the whole pod, which covers the istio-proxy
    container Istio injects (Pod Security checks every container; a pod-level profile counts for
    all that set none: check_seccompProfile_restricted).
    """
    labels = {MANAGED_BY: MANAGER, SOURCE_ROLE: "probe-source"}
    pod_labels = {"app": SOURCE_NAME, SOURCE_ROLE: "probe-source"}
    if not sidecar:
        pod_labels["sidecar.istio.io/inject"] = "false"
    meta = {"name": SOURCE_NAME, "namespace": namespace, "labels": labels}
    container = {"name": SOURCE_NAME, "image": image, "command": ["/bin/sleep", "infinity"],
                 "imagePullPolicy": "IfNotPresent", "resources": {"requests": dict(SOURCE_REQUESTS)},
                 "securityContext": restricted_security_context(PROBE_UID, PROBE_GID)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": dict(meta),
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": SOURCE_NAME}},
                  "template": {"metadata": {"labels": pod_labels},
                               "spec": {"terminationGracePeriodSeconds": 0,
                                        "serviceAccountName": SOURCE_NAME,
                                        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                                        "containers": [container]}}}},
    ]


# -- the ephemeral probe container (issue 10) ---------------------------------------------------
PROBE_CONTAINER_PREFIX = "egress-probe-"
# The probe container idles between runs, so that every later probe of the pod reuses it: an
# ephemeral container can be neither restarted nor removed. 3650d: BusyBox's and coreutils'
# sleep both read the d suffix (BusyBox coreutils/sleep.c, FEATURE_FANCY_SLEEP).
PROBE_IDLE = "3650d"


def probe_container(name: str, image: str, uid: int, gid: int) -> dict:
    """The ephemeral container the probe runs in, as kubectl debug builds one (kubectl
    pkg/cmd/debug/debug.go generateDebugContainer: name, image, command,
    terminationMessagePolicy File, no stdin or tty) with the restricted profile's context."""
    return {"name": name, "image": image, "command": ["sleep", PROBE_IDLE], "imagePullPolicy": "IfNotPresent",
            "terminationMessagePolicy": "File", "securityContext": restricted_security_context(uid, gid)}
