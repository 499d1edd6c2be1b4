"""Defaulting and validation with kube-apiserver's rules and messages.

Sources (kubernetes/kubernetes): pkg/apis/core/v1/defaults.go,
pkg/apis/core/validation/validation.go, pkg/apis/discovery/validation,
pkg/registry/core/service/storage/{storage,alloc}.go,
staging/src/k8s.io/apimachinery/pkg/util/validation. A validator returns a
list of `Cause`; the API layer turns them into one 422 Status.
"""
from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from .errors import Cause, invalid

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .kinds import Kind

# -- apimachinery's message helpers ---------------------------------------------
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                     "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
                     f"or '123-abc', regex used for validation is '{DNS1123_LABEL_FMT}')")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                         "characters, '-' or '.', and must start and end with an alphanumeric character "
                         f"(e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')")
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                     "start with an alphabetic character, and end with an alphanumeric character "
                     f"(e.g. 'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL_FMT}')")
LABEL_VALUE_FMT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                   "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
                   f"or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE_FMT}')")
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                      "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                      f"'123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}')")
PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"
VALID_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def go_value(value: Any) -> str:
    """How field.Invalid prints a value: strings quoted, numbers bare, nil as "null"."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[]string{" + ", ".join(go_value(v) for v in value) + "}"
    return str(value)


def Invalid(path: str, value: Any, detail: str) -> Cause:  # noqa: N802 - mirrors field.Invalid
    return Cause("FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}", path)


def Required(path: str, detail: str = "") -> Cause:  # noqa: N802
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def NotSupported(path: str, value: Any, supported: list[str]) -> Cause:  # noqa: N802
    values = ", ".join(f'"{s}"' for s in supported)
    return Cause("FieldValueNotSupported", f"Unsupported value: {go_value(value)}: supported values: {values}", path)


def Duplicate(path: str, value: Any) -> Cause:  # noqa: N802
    return Cause("FieldValueDuplicate", f"Duplicate value: {go_value(value)}", path)


def Forbidden(path: str, detail: str) -> Cause:  # noqa: N802
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def TooMany(path: str, actual: int, limit: int) -> Cause:  # noqa: N802
    return Cause("FieldValueTooMany", f"Too many: {actual}: must have at most {limit} items", path)


def dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(DNS1123_LABEL_FMT, value):
        errs.append(DNS1123_LABEL_MSG)
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(DNS1123_SUBDOMAIN_FMT, value):
        errs.append(DNS1123_SUBDOMAIN_MSG)
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(DNS1035_LABEL_FMT, value):
        errs.append(DNS1035_LABEL_MSG)
    return errs


def _qualified_name(key: str) -> list[str]:
    prefix, _, name = key.rpartition("/")
    errs = []
    if key.count("/") > 1:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
                "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                f"'123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}') with an optional DNS "
                "subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if "/" in key:
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + e for e in dns1123_subdomain(prefix))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not re.fullmatch(QUALIFIED_NAME_FMT, name):
        errs.append(QUALIFIED_NAME_MSG)
    return errs


def validate_labels(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if labels is None:
        return causes
    if not isinstance(labels, dict):
        return [Invalid(path, labels, "must be a map")]
    for key, value in labels.items():
        causes.extend(Invalid(path, key, e) for e in _qualified_name(key))
        value = "" if value is None else value
        if not isinstance(value, str):
            causes.append(Invalid(path, value, LABEL_VALUE_MSG))
            continue
        if len(value) > 63:
            causes.append(Invalid(path, value, "must be no more than 63 characters"))
        if not re.fullmatch(LABEL_VALUE_FMT, value):
            causes.append(Invalid(path, value, LABEL_VALUE_MSG))
    return causes


def validate_meta(obj: dict, name_rule=dns1123_subdomain, namespaced: bool = True) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    name = meta.get("name", "")
    if not name:
        causes.append(Required("metadata.name", "name or generateName is required"))
    else:
        causes.extend(Invalid("metadata.name", name, e) for e in name_rule(name))
    if namespaced and not meta.get("namespace"):
        causes.append(Required("metadata.namespace"))
    causes.extend(validate_labels(meta.get("labels"), "metadata.labels"))
    annotations = meta.get("annotations") or {}
    if isinstance(annotations, dict):
        for key in annotations:
            causes.extend(Invalid("metadata.annotations", key, e) for e in _qualified_name(key.lower()))
        if sum(len(k) + len(str(v)) for k, v in annotations.items()) > 262144:
            causes.append(Cause("FieldValueTooLong", "Too long: must have at most 262144 bytes",
                                "metadata.annotations"))
    return causes


def validate_generic(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    return validate_meta(obj, dns1123_subdomain, kind.namespaced)


# -- IPs ------------------------------------------------------------------------
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
# Go's net.ParseCIDR keeps "ff02::/10" as written; Python wants it without host bits
LINK_LOCAL_MULTICAST = (ipaddress.ip_network("224.0.0.0/24"), ipaddress.ip_network("ff02::/10", strict=False))
def special_ip(ip: str) -> list[str]:
    """`ValidateNonSpecialIP`: what endpoints may never point at."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ["must be a valid IP address"]
    if addr.is_unspecified:
        return [f"may not be unspecified ({ip})"]
    if addr.is_loopback:
        return ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]
    if any(addr in net for net in LINK_LOCAL if net.version == addr.version):
        return ["may not be in the link-local range (169.254.0.0/16, fe80::/10)"]
    if any(addr in net for net in LINK_LOCAL_MULTICAST if net.version == addr.version):
        return ["may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"]
    return []


def _is_ip(value: str, version: int | None = None) -> bool:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or addr.version == version


def _family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


# -- namespaces -----------------------------------------------------------------
def decode_namespace(obj: dict) -> None:
    """SetDefaults_Namespace: the kubernetes.io/metadata.name label (owned by the writer)."""
    meta = obj.get("metadata")
    name = meta.get("name", "") if isinstance(meta, dict) else ""
    if name:
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels["kubernetes.io/metadata.name"] = name


def default_namespace(obj: dict, old: dict | None, cluster: "Cluster", dry: bool) -> None:
    decode_namespace(obj)
    if old is None:
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    else:
        obj["spec"] = old.get("spec", {})
        obj["status"] = old.get("status", {})


def validate_namespace(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    return validate_meta(obj, dns1123_label, namespaced=False)


# -- services -------------------------------------------------------------------
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]


def _decode_defaults_service(spec: dict) -> None:
    """SetDefaults_Service: runs on every decode."""
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    else:
        spec.pop("internalTrafficPolicy", None)  # defaultOnRead hides it for ExternalName


def decode_service(obj: dict) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        _decode_defaults_service(spec)


def default_service(obj: dict, old: dict | None, cluster: "Cluster", dry: bool) -> None:
    """Decode defaults, then beginCreate/beginUpdate: IP families and cluster IP allocation."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    _decode_defaults_service(spec)
    obj["status"] = {"loadBalancer": {}} if spec.get("type") != "LoadBalancer" or old is None \
        else old.get("status", {"loadBalancer": {}})
    old_spec = (old or {}).get("spec", {})
    needs_ips = spec.get("type") != "ExternalName"
    old_had_ips = bool(old) and old_spec.get("type") != "ExternalName"
    if not needs_ips:
        if old_had_ips:  # dropTypeDependentFields: wipe what the user left unchanged
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if spec.get(key) == old_spec.get(key):
                    spec.pop(key, None)
        return
    if old_had_ips:  # patchAllocatedValues
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
        for key in ("ipFamilies", "ipFamilyPolicy"):
            if not spec.get(key) and old_spec.get(key):
                spec[key] = old_spec[key]
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    headless = spec.get("clusterIP") == "None"
    if not spec.get("ipFamilyPolicy"):
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless and not spec.get("selector") else "SingleStack"
    early = _cluster_ip_errors(spec, old_spec if old_had_ips else {}, cluster)
    if early:
        raise invalid("Service", obj["metadata"].get("name", ""), early)
    families = list(spec.get("ipFamilies") or [])
    if not families:
        families = [_family(ip) for ip in spec.get("clusterIPs") or [] if ip != "None"] or ["IPv4"]
        if spec["ipFamilyPolicy"] != "SingleStack" and len(families) == 1:
            families.append("IPv6" if families[0] == "IPv4" else "IPv4")
    spec["ipFamilies"] = families
    if headless:
        spec["clusterIPs"] = ["None"]
        return
    ips = list(spec.get("clusterIPs") or [])
    old_ips = set(old_spec.get("clusterIPs") or []) if old_had_ips else set()
    for ip in ips:
        if ip not in old_ips and not dry:
            cluster.ipam.allocate(_family(ip), wanted=ip)
    for family in families[len(ips):]:
        ips.append(cluster.ipam.allocate(family, reserve=not dry))
    spec["clusterIPs"] = ips
    spec["clusterIP"] = ips[0]


def _cluster_ip_errors(spec: dict, old_spec: dict, cluster: "Cluster") -> list[Cause]:
    """Requested cluster IPs, checked at allocation time (before the rest of validation)."""
    causes: list[Cause] = []
    ips = spec.get("clusterIPs") or []
    if spec.get("clusterIP") and ips and ips[0] != spec["clusterIP"]:
        causes.append(Invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
        return causes
    if "None" in ips and len(ips) > 1:
        causes.append(Invalid("spec.clusterIPs", ips, "'None' must be the first and only value"))
    if len(ips) > 2:
        causes.append(Invalid("spec.clusterIPs", ips, "may only hold up to 2 values"))
    for i, ip in enumerate(ips):
        if ip == "None":
            continue
        if not _is_ip(ip):
            causes.append(Invalid(f"spec.clusterIPs[{i}]", ip, VALID_IP_MSG))
    if causes:
        return causes
    for family in spec.get("ipFamilies") or []:
        if family not in ("IPv4", "IPv6"):
            causes.append(NotSupported("spec.ipFamilies", family, ["IPv4", "IPv6"]))
    if spec.get("ipFamilyPolicy") not in ("PreferDualStack", "RequireDualStack", "SingleStack"):
        causes.append(NotSupported("spec.ipFamilyPolicy", spec.get("ipFamilyPolicy"),
                                   ["PreferDualStack", "RequireDualStack", "SingleStack"]))
    old_ips = old_spec.get("clusterIPs") or []
    if old_ips and ips and old_ips[0] != ips[0]:
        causes.append(Invalid("spec.clusterIPs[0]", ips, "may not change once set"))
        return causes
    old_families = old_spec.get("ipFamilies") or []
    families = spec.get("ipFamilies") or []
    if old_families and families and old_families[0] != families[0]:
        causes.append(Cause("FieldValueInvalid", "Invalid value: []core.IPFamily{" +
                            ", ".join(f'"{f}"' for f in families) + "}: may not change once set",
                            "spec.ipFamilies[0]"))
        return causes
    for ip in ips:
        if ip == "None" or ip in old_ips:
            continue
        why = cluster.ipam.check(ip)
        if why:
            causes.append(Invalid("spec.clusterIPs", ips, why))
    return causes


def validate_service(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    causes = validate_meta(obj, dns1035_label)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return causes + [Required("spec")]
    stype = spec.get("type", "")
    ports = spec.get("ports") or []
    headless = (spec.get("clusterIPs") or [""])[0] == "None"
    if not ports and stype != "ExternalName" and not headless:
        causes.append(Required("spec.ports"))
    if stype == "ExternalName":
        if spec.get("clusterIPs"):
            causes.append(Forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if spec.get("ipFamilies"):
            causes.append(Forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy"):
            causes.append(Forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = str(spec.get("externalName") or "")
        cname = cname[:-1] if cname.endswith(".") else cname
        if not cname:
            causes.append(Required("spec.externalName"))
        else:
            causes.extend(Invalid("spec.externalName", cname, e) for e in dns1123_subdomain(cname))
    names: set[str] = set()
    seen: set[tuple] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            causes.append(Invalid(path, port, "must be an object"))
            continue
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            causes.append(Required(f"{path}.name"))
        elif name:
            causes.extend(Invalid(f"{path}.name", name, e) for e in dns1123_label(name))
            if name in names:
                causes.append(Duplicate(f"{path}.name", name))
            names.add(name)
        number = port.get("port")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
            causes.append(Invalid(f"{path}.port", number, PORT_RANGE_MSG))
        protocol = port.get("protocol", "")
        if protocol not in PROTOCOLS:
            causes.append(NotSupported(f"{path}.protocol", protocol, PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool):
            if not 1 <= target <= 65535:
                causes.append(Invalid(f"{path}.targetPort", target, PORT_RANGE_MSG))
        elif isinstance(target, str):
            causes.extend(Invalid(f"{path}.targetPort", target, e) for e in _iana_port_name(target))
        if port.get("nodePort") and stype == "ClusterIP":
            causes.append(Forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'"))
        key = (protocol, number)
        if key in seen:
            causes.append(Duplicate(path, f"{{{protocol} {number}}}"))
        seen.add(key)
    causes.extend(validate_labels(spec.get("selector"), "spec.selector"))
    affinity = spec.get("sessionAffinity", "")
    if affinity not in ("ClientIP", "None"):
        causes.append(NotSupported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    for i, ip in enumerate(spec.get("externalIPs") or []):
        if not _is_ip(ip):
            causes.append(Invalid(f"spec.externalIPs[{i}]", ip, VALID_IP_MSG))
        else:
            causes.extend(Invalid(f"spec.externalIPs[{i}]", ip, e) for e in special_ip(ip))
    if not stype:
        causes.append(Required("spec.type"))
    elif stype not in SERVICE_TYPES:
        causes.append(NotSupported("spec.type", stype, SERVICE_TYPES))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        causes.append(NotSupported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    return causes


def _iana_port_name(name: str) -> list[str]:
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not re.fullmatch(r"[-a-z0-9]+", name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


# -- endpoints ------------------------------------------------------------------
def _ip_key(ip: str) -> bytes:
    """Go's 16-byte net.IP form (IPv4 as ::ffff:a.b.c.d), which RepackSubsets sorts by."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip.encode()
    return addr.packed if addr.version == 6 else b"\0" * 10 + b"\xff\xff" + addr.packed


def decode_endpoints(obj: dict) -> None:
    """SetDefaults_EndpointPort."""
    for subset in obj.get("subsets") or []:
        for port in (subset.get("ports") or []) if isinstance(subset, dict) else []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def default_endpoints(obj: dict, old: dict | None, cluster: "Cluster", dry: bool) -> None:
    decode_endpoints(obj)
    for subset in obj.get("subsets") or []:
        if not isinstance(subset, dict):
            continue
        for key in ("addresses", "notReadyAddresses"):
            if isinstance(subset.get(key), list):
                subset[key].sort(key=lambda a: _ip_key(a.get("ip", "")) if isinstance(a, dict) else b"")


def validate_endpoints(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    causes = validate_meta(obj, dns1123_subdomain)
    for i, subset in enumerate(obj.get("subsets") or []):
        path = f"subsets[{i}]"
        if not isinstance(subset, dict):
            causes.append(Invalid(path, subset, "must be an object"))
            continue
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            causes.append(Required(path, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(subset.get(key) or []):
                ip = address.get("ip", "") if isinstance(address, dict) else ""
                apath = f"{path}.{key}[{j}].ip"
                if not _is_ip(ip):
                    causes.append(Invalid(apath, ip, VALID_IP_MSG))
                causes.extend(Invalid(apath, ip, e) for e in special_ip(ip))
        ports = subset.get("ports") or []
        for k, port in enumerate(ports):
            ppath = f"{path}.ports[{k}]"
            name = port.get("name", "")
            if len(ports) > 1 and not name:
                causes.append(Required(f"{ppath}.name"))
            elif name:
                causes.extend(Invalid(f"{ppath}.name", name, e) for e in dns1123_label(name))
            number = port.get("port")
            if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
                causes.append(Invalid(f"{ppath}.port", number, PORT_RANGE_MSG))
            if port.get("protocol") not in PROTOCOLS:
                causes.append(NotSupported(f"{ppath}.protocol", port.get("protocol"), PROTOCOLS))
    return causes


# -- endpointslices -------------------------------------------------------------
def default_endpointslice(obj: dict, old: dict | None = None, cluster: "Cluster | None" = None,
                          dry: bool = False) -> None:
    """Decode defaults only (discovery/v1 SetDefaults_EndpointPort, Go's zero values)."""
    obj.setdefault("endpoints", None)
    obj.setdefault("ports", None)
    for port in obj.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")
    for endpoint in obj.get("endpoints") or []:
        if isinstance(endpoint, dict):
            endpoint.setdefault("conditions", {})


def validate_endpointslice(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    causes = validate_meta(obj, dns1123_subdomain)
    address_type = obj.get("addressType", "")
    if not address_type:
        causes.append(Required("addressType"))
    elif address_type not in ("FQDN", "IPv4", "IPv6"):
        causes.append(NotSupported("addressType", address_type, ["FQDN", "IPv4", "IPv6"]))
    if old is not None and old.get("addressType") != address_type:
        causes.append(Invalid("addressType", address_type, "field is immutable"))
    endpoints = obj.get("endpoints") or []
    if len(endpoints) > 1000:
        causes.append(TooMany("endpoints", len(endpoints), 1000))
    else:
        for i, endpoint in enumerate(endpoints):
            path = f"endpoints[{i}].addresses"
            addresses = endpoint.get("addresses") or [] if isinstance(endpoint, dict) else []
            if not addresses:
                causes.append(Required(path, "must contain at least 1 address"))
            elif len(addresses) > 100:
                causes.append(TooMany(path, len(addresses), 100))
            for j, address in enumerate(addresses):
                apath = f"{path}[{j}]"
                if address_type in ("IPv4", "IPv6"):
                    version = 4 if address_type == "IPv4" else 6
                    if not _is_ip(address, version):
                        causes.append(Invalid(apath, address, f"must be a valid {address_type} address"))
                    causes.extend(Invalid(apath, address, e) for e in special_ip(address))
                elif address_type == "FQDN":
                    name = address[:-1] if address.endswith(".") else address
                    causes.extend(Invalid(apath, address, e) for e in dns1123_subdomain(name))
    names: set[str] = set()
    for i, port in enumerate(obj.get("ports") or []):
        name = port.get("name", "") if isinstance(port, dict) else ""
        if name:
            causes.extend(Invalid(f"ports[{i}].name", name, e) for e in dns1123_label(name))
        if name in names:
            causes.append(Duplicate(f"ports[{i}].name", name))
        names.add(name)
        if port.get("protocol") not in PROTOCOLS:
            causes.append(NotSupported(f"ports[{i}].protocol", port.get("protocol"), PROTOCOLS))
    return causes


# -- pods and deployments ----------------------------------------------------------
def _decode_container(c: dict) -> None:
    """SetDefaults_Container, SetDefaults_ContainerPort; resources is a struct (always there)."""
    c.setdefault("imagePullPolicy", "IfNotPresent" if ":" in c.get("image", "") and
                 not c.get("image", "").endswith(":latest") else "Always")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def decode_pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and its containers' defaults (pods and pod templates)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or []:
            if isinstance(c, dict):
                _decode_container(c)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict) and set(volume) <= {"name"}:
            volume["emptyDir"] = {}  # SetDefaults_Volume: no source is an emptyDir


def decode_pod(obj: dict) -> None:
    """SetDefaults_Pod (enableServiceLinks) and SetDefaults_PodSpec; the service account
    is the ServiceAccount admission plugin's, not a default."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    decode_pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)


def _decode_template(spec: dict) -> None:
    template = spec.setdefault("template", {})
    if isinstance(template, dict):
        tspec = template.setdefault("spec", {})
        if isinstance(tspec, dict):
            decode_pod_spec(tspec)


def decode_replicaset(obj: dict) -> None:
    """SetDefaults_ReplicaSet (apps/v1) and the template's pod defaults."""
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _decode_template(spec)


def default_pod(obj: dict, old: dict | None, cluster: "Cluster", dry: bool) -> None:
    decode_pod(obj)
    spec = obj["spec"]
    spec.setdefault("serviceAccountName", "default")
    if old is None:
        cluster.admit_pod(obj)
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    else:
        obj["spec"] = _keep_pod_spec(old.get("spec", {}), spec)


def _keep_pod_spec(old: dict, new: dict) -> dict:
    """Pod specs are immutable but for images and a few fields; keep the old one."""
    kept = dict(old)
    for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        if key in new:
            kept[key] = new[key]
    return kept


def validate_pod(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    causes = validate_meta(obj, dns1123_subdomain)
    spec = obj.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        causes.append(Required("spec.containers"))
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            name = c.get("name", "") if isinstance(c, dict) else ""
            path = f"spec.{group}[{i}]"
            if not name:
                causes.append(Required(f"{path}.name"))
            else:
                causes.extend(Invalid(f"{path}.name", name, e) for e in dns1123_label(name))
                if name in names:
                    causes.append(Duplicate(f"{path}.name", name))
                names.add(name)
            if not c.get("image") and old is None:
                causes.append(Required(f"{path}.image"))
    if old is None and spec.get("ephemeralContainers"):
        # ValidatePodCreate: they come through the ephemeralcontainers subresource only
        causes.append(Forbidden("spec.ephemeralContainers", "cannot be set on create"))
    return causes


def _default_rolling(spec: dict, field: str, max_unavailable, max_surge) -> None:
    """A workload's update strategy, defaulted field by field: RollingUpdate, and its limits."""
    strategy = spec.get(field)
    if not isinstance(strategy, dict):
        strategy = spec[field] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        rolling.setdefault("maxUnavailable", max_unavailable)
        rolling.setdefault("maxSurge", max_surge)


def default_deployment(obj: dict, old: dict | None = None, cluster: "Cluster | None" = None,
                       dry: bool = False) -> None:
    """Decode defaults only (apps/v1 SetDefaults_Deployment, SetDefaults_PodSpec): the
    strategy is defaulted field by field, so `strategy: {}` (kubectl create deployment)
    becomes RollingUpdate 25%/25%."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _default_rolling(spec, "strategy", "25%", "25%")
    _decode_template(spec)


def default_daemonset(obj: dict, old: dict | None = None, cluster: "Cluster | None" = None,
                      dry: bool = False) -> None:
    """apps/v1 SetDefaults_DaemonSet: updateStrategy RollingUpdate with maxUnavailable 1 and
    maxSurge 0, revisionHistoryLimit 10."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("revisionHistoryLimit", 10)
    _default_rolling(spec, "updateStrategy", 1, 0)
    _decode_template(spec)


def validate_deployment(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    causes = validate_meta(obj, dns1123_subdomain)
    spec = obj.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not spec.get("selector"):
        causes.append(Required("spec.selector"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        causes.append(Invalid("spec.template.metadata.labels", labels,
                              "`selector` does not match template `labels`"))
    if old is not None and (old.get("spec") or {}).get("selector") != spec.get("selector"):
        causes.append(Invalid("spec.selector", spec.get("selector"), "field is immutable"))
    if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
        causes.append(Required("spec.template.spec.containers"))
    return causes


# -- CRDs and custom resources ------------------------------------------------------
def decode_crd(obj: dict) -> None:
    """SetDefaults_CustomResourceDefinitionSpec: singular and list kind."""
    spec = obj.setdefault("spec", {})
    names = spec.setdefault("names", {}) if isinstance(spec, dict) else None
    if isinstance(names, dict) and names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")


def default_crd(obj: dict, old: dict | None, cluster: "Cluster", dry: bool) -> None:
    decode_crd(obj)
    spec = obj["spec"]
    names = spec["names"]
    spec.setdefault("scope", "Namespaced")
    obj["status"] = {"acceptedNames": names, "storedVersions":
                     [v["name"] for v in spec.get("versions", []) if v.get("storage")],
                     "conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"}]}


def validate_crd(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    causes = validate_meta(obj, dns1123_subdomain, namespaced=False)
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
    if obj["metadata"].get("name") != expected:
        causes.append(Invalid("metadata.name", obj["metadata"].get("name"),
                              f"must be spec.names.plural+\".\"+spec.group"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(Required("spec.versions", "must have exactly one version marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(Invalid("spec.versions", None, "must have exactly one version marked as storage version"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(NotSupported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    return causes


def validate_custom_resource(obj: dict, old: dict | None, kind: "Kind") -> list[Cause]:
    from . import schema
    causes = validate_meta(obj, dns1123_subdomain, kind.namespaced)
    version = obj.get("apiVersion", "").rpartition("/")[2]
    root = kind.schemas.get(version) or kind.schemas.get(kind.versions[0]) or {}
    for key, prop in (root.get("properties") or {}).items():
        if key in ("metadata", "apiVersion", "kind"):
            continue
        if key in obj:
            causes.extend(schema.validate(obj[key], prop, key))
    for required in root.get("required") or []:
        if required not in obj:
            causes.append(Required(required))
    return causes
