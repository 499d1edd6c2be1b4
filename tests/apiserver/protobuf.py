"""Decode Kubernetes protobuf request bodies into JSON-shaped dicts.

kubectl's typed clients (``kubectl create namespace|service|configmap|secret|
deployment|job|cronjob|quota|serviceaccount``, ``kubectl debug`` …) send
``Content-Type: application/vnd.kubernetes.protobuf``.  Such a body is::

    b"k8s\\x00" + runtime.Unknown{1: TypeMeta{1: apiVersion, 2: kind},
                                  2: raw, 3: contentEncoding, 4: contentType}

where ``raw`` is the gogo-protobuf encoding of the typed object.  `decode`
turns it into the dict ``json.loads`` would give for the same object sent as
JSON by the same client.

Two layers:

* a tiny wire-format reader (`read_varint`, `iter_fields`) that understands
  varint, fixed32/64 and length-delimited fields and skips groups;
* a declarative schema: for each message, field number -> (JSON name, Kind).
  Field numbers are the ones of the k8s.io generated.proto files named next
  to each table.

JSON fidelity rules (what makes the result equal the JSON body):

* gogo writes every non-pointer scalar, even when zero; encoding/json drops
  zero values of ``omitempty`` fields.  So zero scalars are dropped unless the
  Kind is marked ``keep`` -- used for pointer fields (written only when set,
  so a present zero is meaningful) and for fields without ``omitempty``.
* a present message field is always emitted (encoding/json never omits
  structs, and gogo writes pointer structs only when non-nil).
* repeated fields and maps are emitted only when they have elements.
* pointers and slices declared without ``omitempty`` (``containers``,
  ``DeploymentSpec.selector`` …) are ``None`` when absent, like JSON's
  ``null``.  Protobuf cannot tell an empty slice from a nil one, so an empty
  ``containers: []`` comes back as ``None``, as it does in kube-apiserver.
* ``metav1.Time`` -> RFC3339 seconds (``2024-01-01T00:00:00Z``); the empty
  message is Go's zero time and becomes ``None`` like JSON's ``null``.
* ``IntOrString`` -> int or str; ``resource.Quantity`` -> its string;
  ``bytes`` (Secret.data, ConfigMap.binaryData) -> standard base64.
* fields marked inline (``json:",inline"`` in Go, e.g. VolumeSource in
  Volume) are merged into the parent object.

Unknown field numbers are skipped (``strict=True`` raises instead), so newer
clients degrade gracefully; unknown apiVersion/kind raise `ProtobufError`.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
from dataclasses import dataclass, replace
from typing import Any, Iterator, Union

__all__ = ["CONTENT_TYPE", "MAGIC", "ProtobufError", "Kind", "SCHEMA", "TOP_LEVEL",
           "decode", "decode_object", "decode_message", "iter_fields", "read_varint",
           "supported_kinds"]

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

WIRE_VARINT, WIRE_FIXED64, WIRE_LEN, WIRE_SGROUP, WIRE_EGROUP, WIRE_FIXED32 = 0, 1, 2, 3, 4, 5
_MAX_DEPTH = 100


class ProtobufError(ValueError):
    """The body is not a (supported) Kubernetes protobuf object."""


# --------------------------------------------------------------------------
# wire format
# --------------------------------------------------------------------------

WireValue = Union[int, bytes]


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Read an unsigned base-128 varint at ``pos``; return (value, new position)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def _skip_group(buf: bytes, pos: int, number: int, depth: int) -> int:
    """Skip a (deprecated) group body up to its matching end-group tag."""
    if depth > _MAX_DEPTH:
        raise ProtobufError("groups nested too deeply")
    while True:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == WIRE_EGROUP:
            if field != number:
                raise ProtobufError(f"mismatched end group {field}, expected {number}")
            return pos
        pos = _skip_value(buf, pos, field, wire, depth + 1)


def _skip_value(buf: bytes, pos: int, field: int, wire: int, depth: int) -> int:
    """Return the position just after the value of a field with wire type ``wire``."""
    if wire == WIRE_VARINT:
        return read_varint(buf, pos)[1]
    if wire == WIRE_FIXED64:
        end = pos + 8
    elif wire == WIRE_FIXED32:
        end = pos + 4
    elif wire == WIRE_LEN:
        size, pos = read_varint(buf, pos)
        end = pos + size
    elif wire == WIRE_SGROUP:
        return _skip_group(buf, pos, field, depth)
    else:
        raise ProtobufError(f"invalid wire type {wire} for field {field}")
    if end > len(buf):
        raise ProtobufError(f"field {field} runs past the end of its message")
    return end


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, WireValue]]:
    """Yield ``(field number, wire type, value)`` for each field of a message.

    Varints are yielded as unsigned ints, fixed32/fixed64 as little-endian
    unsigned ints, length-delimited fields as bytes.  Groups are skipped.
    """
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ProtobufError("field number 0")
        if wire == WIRE_VARINT:
            value, pos = read_varint(buf, pos)
            yield field, wire, value
        elif wire == WIRE_LEN:
            size, start = read_varint(buf, pos)
            pos = start + size
            if pos > len(buf):
                raise ProtobufError(f"field {field} runs past the end of its message")
            yield field, wire, bytes(buf[start:pos])
        elif wire in (WIRE_FIXED32, WIRE_FIXED64):
            end = _skip_value(buf, pos, field, wire, 0)
            yield field, wire, int.from_bytes(buf[pos:end], "little")
            pos = end
        elif wire == WIRE_SGROUP:
            pos = _skip_group(buf, pos, field, 0)
        else:
            raise ProtobufError(f"unexpected wire type {wire} for field {field}")


def _signed(value: int) -> int:
    """Two's complement view of a 64-bit varint (int32/int64 fields)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _varints(data: bytes) -> list[int]:
    """Decode a packed run of varints."""
    out, pos = [], 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        out.append(value)
    return out


# --------------------------------------------------------------------------
# schema vocabulary
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """How one field is decoded and rendered.

    ``tag`` is one of: string, int, bool, bytes, message, intstr, time,
    quantity, fieldsv1, map.  ``message`` names a SCHEMA entry (for
    ``message`` and ``inline``).  For maps, ``value`` is the tag of the map
    value (string, bytes or quantity).  ``keep`` keeps zero scalars;
    ``null`` renders an absent field as None.
    """

    tag: str
    message: str = ""
    value: str = ""
    repeated: bool = False
    keep: bool = False
    null: bool = False
    inline: bool = False


STR = Kind("string")
INT = Kind("int")        # int32 and int64 alike (both are sign-extended varints)
BOOL = Kind("bool")
INTSTR = Kind("intstr")  # k8s.io/apimachinery/pkg/util/intstr IntOrString
TIME = Kind("time")      # meta/v1 Time
QTY = Kind("quantity")   # k8s.io/apimachinery/pkg/api/resource Quantity
FIELDSV1 = Kind("fieldsv1")
STR_MAP = Kind("map", value="string")
BYTES_MAP = Kind("map", value="bytes")
QTY_MAP = Kind("map", value="quantity")
STRS = Kind("string", repeated=True)
INTS = Kind("int", repeated=True)


def msg(name: str) -> Kind:
    """A nested message."""
    return Kind("message", message=name)


def rep(name: str) -> Kind:
    """A repeated nested message."""
    return Kind("message", message=name, repeated=True)


def inline(name: str) -> Kind:
    """An embedded struct whose JSON fields are merged into the parent."""
    return Kind("message", message=name, inline=True)


def ptr(kind: Kind) -> Kind:
    """A Go pointer field: written only when set, so a zero value is kept."""
    return replace(kind, keep=True)


def req(kind: Kind) -> Kind:
    """A Go field without ``omitempty``: zero values stay in the JSON."""
    return replace(kind, keep=True)


def nullable(kind: Kind) -> Kind:
    """A Go pointer or slice without ``omitempty``: absent means JSON ``null``."""
    return replace(kind, keep=True, null=True)


Table = dict[int, tuple[str, Kind]]

# Field numbers come from kubernetes/kubernetes staging/src/k8s.io/...:
#   meta/v1   apimachinery/pkg/apis/meta/v1/generated.proto
#   core/v1   api/core/v1/generated.proto
#   apps/v1   api/apps/v1/generated.proto
#   batch/v1  api/batch/v1/generated.proto
#   intstr    apimachinery/pkg/util/intstr/generated.proto   IntOrString {1: type, 2: intVal, 3: strVal}
#   resource  apimachinery/pkg/api/resource/generated.proto  Quantity {1: string}
#   runtime   apimachinery/pkg/runtime/generated.proto       Unknown, TypeMeta (used by `decode`)
# ptr / req / nullable follow the Go fields' pointer-ness and json tags in types.go.
# Each table lists fields in Go struct order, which is also the JSON order.
SCHEMA: dict[str, Table] = {
    # ---------------------------------------------------------------- meta/v1
    # meta/v1 generated.proto: message ObjectMeta
    "meta.ObjectMeta": {
        1: ("name", STR), 2: ("generateName", STR), 3: ("namespace", STR), 4: ("selfLink", STR),
        5: ("uid", STR), 6: ("resourceVersion", STR), 7: ("generation", INT),
        8: ("creationTimestamp", TIME), 9: ("deletionTimestamp", TIME),
        10: ("deletionGracePeriodSeconds", ptr(INT)), 11: ("labels", STR_MAP),
        12: ("annotations", STR_MAP), 13: ("ownerReferences", rep("meta.OwnerReference")),
        14: ("finalizers", STRS), 17: ("managedFields", rep("meta.ManagedFieldsEntry")),
    },
    # meta/v1 generated.proto: message OwnerReference
    "meta.OwnerReference": {
        5: ("apiVersion", req(STR)), 1: ("kind", req(STR)), 3: ("name", req(STR)),
        4: ("uid", req(STR)), 6: ("controller", ptr(BOOL)), 7: ("blockOwnerDeletion", ptr(BOOL)),
    },
    # meta/v1 generated.proto: message ManagedFieldsEntry (FieldsV1 {1: Raw})
    "meta.ManagedFieldsEntry": {
        1: ("manager", STR), 2: ("operation", STR), 3: ("apiVersion", STR), 4: ("time", TIME),
        6: ("fieldsType", STR), 7: ("fieldsV1", FIELDSV1), 8: ("subresource", STR),
    },
    # meta/v1 generated.proto: message LabelSelector
    "meta.LabelSelector": {
        1: ("matchLabels", STR_MAP), 2: ("matchExpressions", rep("meta.LabelSelectorRequirement")),
    },
    # meta/v1 generated.proto: message LabelSelectorRequirement
    "meta.LabelSelectorRequirement": {
        1: ("key", req(STR)), 2: ("operator", req(STR)), 3: ("values", STRS),
    },
    # meta/v1 generated.proto: message Condition
    "meta.Condition": {
        1: ("type", req(STR)), 2: ("status", req(STR)), 3: ("observedGeneration", INT),
        4: ("lastTransitionTime", TIME), 5: ("reason", req(STR)), 6: ("message", req(STR)),
    },
    # meta/v1 generated.proto: message DeleteOptions
    "meta.DeleteOptions": {
        1: ("gracePeriodSeconds", ptr(INT)), 2: ("preconditions", msg("meta.Preconditions")),
        3: ("orphanDependents", ptr(BOOL)), 4: ("propagationPolicy", ptr(STR)), 5: ("dryRun", STRS),
    },
    # meta/v1 generated.proto: message Preconditions
    "meta.Preconditions": {1: ("uid", ptr(STR)), 2: ("resourceVersion", ptr(STR))},

    # ---------------------------------------------------------------- core/v1
    # core/v1 generated.proto: message Namespace
    "core.Namespace": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("core.NamespaceSpec")),
        3: ("status", msg("core.NamespaceStatus")),
    },
    # core/v1 generated.proto: message NamespaceSpec
    "core.NamespaceSpec": {1: ("finalizers", STRS)},
    # core/v1 generated.proto: message NamespaceStatus
    "core.NamespaceStatus": {1: ("phase", STR), 2: ("conditions", rep("core.NamespaceCondition"))},
    # core/v1 generated.proto: message NamespaceCondition
    "core.NamespaceCondition": {
        1: ("type", req(STR)), 2: ("status", req(STR)), 4: ("lastTransitionTime", TIME),
        5: ("reason", STR), 6: ("message", STR),
    },
    # core/v1 generated.proto: message Service
    "core.Service": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("core.ServiceSpec")),
        3: ("status", msg("core.ServiceStatus")),
    },
    # core/v1 generated.proto: message ServiceSpec
    "core.ServiceSpec": {
        1: ("ports", rep("core.ServicePort")), 2: ("selector", STR_MAP), 3: ("clusterIP", STR),
        18: ("clusterIPs", STRS), 4: ("type", STR), 5: ("externalIPs", STRS),
        7: ("sessionAffinity", STR), 8: ("loadBalancerIP", STR),
        9: ("loadBalancerSourceRanges", STRS), 10: ("externalName", STR),
        11: ("externalTrafficPolicy", STR), 12: ("healthCheckNodePort", INT),
        13: ("publishNotReadyAddresses", BOOL),
        14: ("sessionAffinityConfig", msg("core.SessionAffinityConfig")),
        19: ("ipFamilies", STRS), 17: ("ipFamilyPolicy", ptr(STR)),
        20: ("allocateLoadBalancerNodePorts", ptr(BOOL)), 21: ("loadBalancerClass", ptr(STR)),
        22: ("internalTrafficPolicy", ptr(STR)), 23: ("trafficDistribution", ptr(STR)),
    },
    # core/v1 generated.proto: message ServicePort
    "core.ServicePort": {
        1: ("name", STR), 2: ("protocol", STR), 6: ("appProtocol", ptr(STR)),
        3: ("port", req(INT)), 4: ("targetPort", INTSTR), 5: ("nodePort", INT),
    },
    # core/v1 generated.proto: message SessionAffinityConfig
    "core.SessionAffinityConfig": {1: ("clientIP", msg("core.ClientIPConfig"))},
    # core/v1 generated.proto: message ClientIPConfig
    "core.ClientIPConfig": {1: ("timeoutSeconds", ptr(INT))},
    # core/v1 generated.proto: message ServiceStatus
    "core.ServiceStatus": {
        1: ("loadBalancer", msg("core.LoadBalancerStatus")), 2: ("conditions", rep("meta.Condition")),
    },
    # core/v1 generated.proto: message LoadBalancerStatus
    "core.LoadBalancerStatus": {1: ("ingress", rep("core.LoadBalancerIngress"))},
    # core/v1 generated.proto: message LoadBalancerIngress
    "core.LoadBalancerIngress": {
        1: ("ip", STR), 2: ("hostname", STR), 3: ("ipMode", ptr(STR)), 4: ("ports", rep("core.PortStatus")),
    },
    # core/v1 generated.proto: message PortStatus
    "core.PortStatus": {1: ("port", req(INT)), 2: ("protocol", req(STR)), 3: ("error", ptr(STR))},
    # core/v1 generated.proto: message ConfigMap
    "core.ConfigMap": {
        1: ("metadata", msg("meta.ObjectMeta")), 4: ("immutable", ptr(BOOL)), 2: ("data", STR_MAP),
        3: ("binaryData", BYTES_MAP),
    },
    # core/v1 generated.proto: message Secret
    "core.Secret": {
        1: ("metadata", msg("meta.ObjectMeta")), 5: ("immutable", ptr(BOOL)), 2: ("data", BYTES_MAP),
        4: ("stringData", STR_MAP), 3: ("type", STR),
    },
    # core/v1 generated.proto: message ServiceAccount
    "core.ServiceAccount": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("secrets", rep("core.ObjectReference")),
        3: ("imagePullSecrets", rep("core.LocalObjectReference")),
        4: ("automountServiceAccountToken", ptr(BOOL)),
    },
    # core/v1 generated.proto: message ObjectReference
    "core.ObjectReference": {
        1: ("kind", STR), 2: ("namespace", STR), 3: ("name", STR), 4: ("uid", STR),
        5: ("apiVersion", STR), 6: ("resourceVersion", STR), 7: ("fieldPath", STR),
    },
    # core/v1 generated.proto: message ResourceQuota
    "core.ResourceQuota": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("core.ResourceQuotaSpec")),
        3: ("status", msg("core.ResourceQuotaStatus")),
    },
    # core/v1 generated.proto: message ResourceQuotaSpec
    "core.ResourceQuotaSpec": {
        1: ("hard", QTY_MAP), 2: ("scopes", STRS), 3: ("scopeSelector", msg("core.ScopeSelector")),
    },
    # core/v1 generated.proto: message ScopeSelector
    "core.ScopeSelector": {1: ("matchExpressions", rep("core.ScopedResourceSelectorRequirement"))},
    # core/v1 generated.proto: message ScopedResourceSelectorRequirement
    "core.ScopedResourceSelectorRequirement": {
        1: ("scopeName", req(STR)), 2: ("operator", req(STR)), 3: ("values", STRS),
    },
    # core/v1 generated.proto: message ResourceQuotaStatus
    "core.ResourceQuotaStatus": {1: ("hard", QTY_MAP), 2: ("used", QTY_MAP)},
    # core/v1 generated.proto: message Pod
    "core.Pod": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("core.PodSpec")),
        3: ("status", msg("core.PodStatus")),
    },
    # core/v1 generated.proto: message PodTemplateSpec
    "core.PodTemplateSpec": {1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("core.PodSpec"))},
    # core/v1 generated.proto: message PodSpec
    "core.PodSpec": {
        1: ("volumes", rep("core.Volume")), 20: ("initContainers", rep("core.Container")),
        2: ("containers", nullable(rep("core.Container"))),
        34: ("ephemeralContainers", rep("core.EphemeralContainer")),
        3: ("restartPolicy", STR), 4: ("terminationGracePeriodSeconds", ptr(INT)),
        5: ("activeDeadlineSeconds", ptr(INT)), 6: ("dnsPolicy", STR), 7: ("nodeSelector", STR_MAP),
        8: ("serviceAccountName", STR), 9: ("serviceAccount", STR),
        21: ("automountServiceAccountToken", ptr(BOOL)), 10: ("nodeName", STR),
        11: ("hostNetwork", BOOL), 12: ("hostPID", BOOL), 13: ("hostIPC", BOOL),
        27: ("shareProcessNamespace", ptr(BOOL)), 14: ("securityContext", msg("core.PodSecurityContext")),
        15: ("imagePullSecrets", rep("core.LocalObjectReference")), 16: ("hostname", STR),
        17: ("subdomain", STR), 18: ("affinity", msg("core.Affinity")), 19: ("schedulerName", STR),
        22: ("tolerations", rep("core.Toleration")), 23: ("hostAliases", rep("core.HostAlias")),
        24: ("priorityClassName", STR), 25: ("priority", ptr(INT)),
        26: ("dnsConfig", msg("core.PodDNSConfig")), 28: ("readinessGates", rep("core.PodReadinessGate")),
        29: ("runtimeClassName", ptr(STR)), 30: ("enableServiceLinks", ptr(BOOL)),
        31: ("preemptionPolicy", ptr(STR)), 32: ("overhead", QTY_MAP),
        33: ("topologySpreadConstraints", rep("core.TopologySpreadConstraint")),
        35: ("setHostnameAsFQDN", ptr(BOOL)), 36: ("os", msg("core.PodOS")), 37: ("hostUsers", ptr(BOOL)),
        38: ("schedulingGates", rep("core.PodSchedulingGate")),
        39: ("resourceClaims", rep("core.PodResourceClaim")),
        40: ("resources", msg("core.ResourceRequirements")),
    },
    # core/v1 generated.proto: message PodStatus (container statuses are not modelled)
    "core.PodStatus": {
        17: ("observedGeneration", INT), 1: ("phase", STR), 2: ("conditions", rep("core.PodCondition")),
        3: ("message", STR), 4: ("reason", STR), 11: ("nominatedNodeName", STR), 5: ("hostIP", STR),
        16: ("hostIPs", rep("core.HostIP")), 6: ("podIP", STR), 12: ("podIPs", rep("core.PodIP")),
        7: ("startTime", TIME), 9: ("qosClass", STR), 14: ("resize", STR),
    },
    # core/v1 generated.proto: message PodCondition
    "core.PodCondition": {
        1: ("type", req(STR)), 7: ("observedGeneration", INT), 2: ("status", req(STR)),
        3: ("lastProbeTime", TIME), 4: ("lastTransitionTime", TIME), 5: ("reason", STR), 6: ("message", STR),
    },
    # core/v1 generated.proto: message HostIP
    "core.HostIP": {1: ("ip", req(STR))},
    # core/v1 generated.proto: message PodIP
    "core.PodIP": {1: ("ip", req(STR))},
    # core/v1 generated.proto: message Container (EphemeralContainerCommon uses the same numbers)
    "core.Container": {
        1: ("name", req(STR)), 2: ("image", STR), 3: ("command", STRS), 4: ("args", STRS),
        5: ("workingDir", STR), 6: ("ports", rep("core.ContainerPort")),
        19: ("envFrom", rep("core.EnvFromSource")), 7: ("env", rep("core.EnvVar")),
        8: ("resources", msg("core.ResourceRequirements")),
        23: ("resizePolicy", rep("core.ContainerResizePolicy")), 24: ("restartPolicy", ptr(STR)),
        9: ("volumeMounts", rep("core.VolumeMount")), 21: ("volumeDevices", rep("core.VolumeDevice")),
        10: ("livenessProbe", msg("core.Probe")), 11: ("readinessProbe", msg("core.Probe")),
        22: ("startupProbe", msg("core.Probe")), 12: ("lifecycle", msg("core.Lifecycle")),
        13: ("terminationMessagePath", STR), 20: ("terminationMessagePolicy", STR),
        14: ("imagePullPolicy", STR), 15: ("securityContext", msg("core.SecurityContext")),
        16: ("stdin", BOOL), 17: ("stdinOnce", BOOL), 18: ("tty", BOOL),
    },
    # core/v1 generated.proto: message EphemeralContainer
    "core.EphemeralContainer": {1: ("", inline("core.Container")), 2: ("targetContainerName", STR)},
    # core/v1 generated.proto: message ContainerPort
    "core.ContainerPort": {
        1: ("name", STR), 2: ("hostPort", INT), 3: ("containerPort", req(INT)), 4: ("protocol", STR),
        5: ("hostIP", STR),
    },
    # core/v1 generated.proto: message ContainerResizePolicy
    "core.ContainerResizePolicy": {1: ("resourceName", req(STR)), 2: ("restartPolicy", req(STR))},
    # core/v1 generated.proto: message EnvFromSource
    "core.EnvFromSource": {
        1: ("prefix", STR), 2: ("configMapRef", msg("core.ConfigMapEnvSource")),
        3: ("secretRef", msg("core.SecretEnvSource")),
    },
    # core/v1 generated.proto: message ConfigMapEnvSource
    "core.ConfigMapEnvSource": {1: ("", inline("core.LocalObjectReference")), 2: ("optional", ptr(BOOL))},
    # core/v1 generated.proto: message SecretEnvSource
    "core.SecretEnvSource": {1: ("", inline("core.LocalObjectReference")), 2: ("optional", ptr(BOOL))},
    # core/v1 generated.proto: message EnvVar
    "core.EnvVar": {1: ("name", req(STR)), 2: ("value", STR), 3: ("valueFrom", msg("core.EnvVarSource"))},
    # core/v1 generated.proto: message EnvVarSource
    "core.EnvVarSource": {
        1: ("fieldRef", msg("core.ObjectFieldSelector")),
        2: ("resourceFieldRef", msg("core.ResourceFieldSelector")),
        3: ("configMapKeyRef", msg("core.ConfigMapKeySelector")),
        4: ("secretKeyRef", msg("core.SecretKeySelector")),
    },
    # core/v1 generated.proto: message ObjectFieldSelector
    "core.ObjectFieldSelector": {1: ("apiVersion", STR), 2: ("fieldPath", req(STR))},
    # core/v1 generated.proto: message ResourceFieldSelector
    "core.ResourceFieldSelector": {1: ("containerName", STR), 2: ("resource", req(STR)), 3: ("divisor", QTY)},
    # core/v1 generated.proto: message ConfigMapKeySelector
    "core.ConfigMapKeySelector": {
        1: ("", inline("core.LocalObjectReference")), 2: ("key", req(STR)), 3: ("optional", ptr(BOOL)),
    },
    # core/v1 generated.proto: message SecretKeySelector
    "core.SecretKeySelector": {
        1: ("", inline("core.LocalObjectReference")), 2: ("key", req(STR)), 3: ("optional", ptr(BOOL)),
    },
    # core/v1 generated.proto: message LocalObjectReference
    "core.LocalObjectReference": {1: ("name", STR)},
    # core/v1 generated.proto: message ResourceRequirements
    "core.ResourceRequirements": {
        1: ("limits", QTY_MAP), 2: ("requests", QTY_MAP), 3: ("claims", rep("core.ResourceClaim")),
    },
    # core/v1 generated.proto: message ResourceClaim
    "core.ResourceClaim": {1: ("name", req(STR)), 2: ("request", STR)},
    # core/v1 generated.proto: message VolumeMount
    "core.VolumeMount": {
        1: ("name", req(STR)), 2: ("readOnly", BOOL), 7: ("recursiveReadOnly", ptr(STR)),
        3: ("mountPath", req(STR)), 4: ("subPath", STR), 5: ("mountPropagation", ptr(STR)),
        6: ("subPathExpr", STR),
    },
    # core/v1 generated.proto: message VolumeDevice
    "core.VolumeDevice": {1: ("name", req(STR)), 2: ("devicePath", req(STR))},
    # core/v1 generated.proto: message Probe
    "core.Probe": {
        1: ("", inline("core.ProbeHandler")), 2: ("initialDelaySeconds", INT), 3: ("timeoutSeconds", INT),
        4: ("periodSeconds", INT), 5: ("successThreshold", INT), 6: ("failureThreshold", INT),
        7: ("terminationGracePeriodSeconds", ptr(INT)),
    },
    # core/v1 generated.proto: message ProbeHandler
    "core.ProbeHandler": {
        1: ("exec", msg("core.ExecAction")), 2: ("httpGet", msg("core.HTTPGetAction")),
        3: ("tcpSocket", msg("core.TCPSocketAction")), 4: ("grpc", msg("core.GRPCAction")),
    },
    # core/v1 generated.proto: message ExecAction
    "core.ExecAction": {1: ("command", STRS)},
    # core/v1 generated.proto: message HTTPGetAction
    "core.HTTPGetAction": {
        1: ("path", STR), 2: ("port", INTSTR), 3: ("host", STR), 4: ("scheme", STR),
        5: ("httpHeaders", rep("core.HTTPHeader")),
    },
    # core/v1 generated.proto: message HTTPHeader
    "core.HTTPHeader": {1: ("name", req(STR)), 2: ("value", req(STR))},
    # core/v1 generated.proto: message TCPSocketAction
    "core.TCPSocketAction": {1: ("port", INTSTR), 2: ("host", STR)},
    # core/v1 generated.proto: message GRPCAction
    "core.GRPCAction": {1: ("port", req(INT)), 2: ("service", nullable(STR))},
    # core/v1 generated.proto: message Lifecycle
    "core.Lifecycle": {
        1: ("postStart", msg("core.LifecycleHandler")), 2: ("preStop", msg("core.LifecycleHandler")),
        3: ("stopSignal", ptr(STR)),
    },
    # core/v1 generated.proto: message LifecycleHandler
    "core.LifecycleHandler": {
        1: ("exec", msg("core.ExecAction")), 2: ("httpGet", msg("core.HTTPGetAction")),
        3: ("tcpSocket", msg("core.TCPSocketAction")), 4: ("sleep", msg("core.SleepAction")),
    },
    # core/v1 generated.proto: message SleepAction
    "core.SleepAction": {1: ("seconds", req(INT))},
    # core/v1 generated.proto: message SecurityContext
    "core.SecurityContext": {
        1: ("capabilities", msg("core.Capabilities")), 2: ("privileged", ptr(BOOL)),
        3: ("seLinuxOptions", msg("core.SELinuxOptions")),
        10: ("windowsOptions", msg("core.WindowsSecurityContextOptions")),
        4: ("runAsUser", ptr(INT)), 8: ("runAsGroup", ptr(INT)), 5: ("runAsNonRoot", ptr(BOOL)),
        6: ("readOnlyRootFilesystem", ptr(BOOL)), 7: ("allowPrivilegeEscalation", ptr(BOOL)),
        9: ("procMount", ptr(STR)), 11: ("seccompProfile", msg("core.SeccompProfile")),
        12: ("appArmorProfile", msg("core.AppArmorProfile")),
    },
    # core/v1 generated.proto: message PodSecurityContext
    "core.PodSecurityContext": {
        1: ("seLinuxOptions", msg("core.SELinuxOptions")),
        8: ("windowsOptions", msg("core.WindowsSecurityContextOptions")),
        2: ("runAsUser", ptr(INT)), 6: ("runAsGroup", ptr(INT)), 3: ("runAsNonRoot", ptr(BOOL)),
        4: ("supplementalGroups", INTS), 12: ("supplementalGroupsPolicy", ptr(STR)),
        5: ("fsGroup", ptr(INT)), 7: ("sysctls", rep("core.Sysctl")),
        9: ("fsGroupChangePolicy", ptr(STR)), 10: ("seccompProfile", msg("core.SeccompProfile")),
        11: ("appArmorProfile", msg("core.AppArmorProfile")), 13: ("seLinuxChangePolicy", ptr(STR)),
    },
    # core/v1 generated.proto: message Capabilities
    "core.Capabilities": {1: ("add", STRS), 2: ("drop", STRS)},
    # core/v1 generated.proto: message SELinuxOptions
    "core.SELinuxOptions": {1: ("user", STR), 2: ("role", STR), 3: ("type", STR), 4: ("level", STR)},
    # core/v1 generated.proto: message WindowsSecurityContextOptions
    "core.WindowsSecurityContextOptions": {
        1: ("gmsaCredentialSpecName", ptr(STR)), 2: ("gmsaCredentialSpec", ptr(STR)),
        3: ("runAsUserName", ptr(STR)), 4: ("hostProcess", ptr(BOOL)),
    },
    # core/v1 generated.proto: message SeccompProfile
    "core.SeccompProfile": {1: ("type", req(STR)), 2: ("localhostProfile", ptr(STR))},
    # core/v1 generated.proto: message AppArmorProfile
    "core.AppArmorProfile": {1: ("type", req(STR)), 2: ("localhostProfile", ptr(STR))},
    # core/v1 generated.proto: message Sysctl
    "core.Sysctl": {1: ("name", req(STR)), 2: ("value", req(STR))},
    # core/v1 generated.proto: message Volume
    "core.Volume": {1: ("name", req(STR)), 2: ("", inline("core.VolumeSource"))},
    # core/v1 generated.proto: message VolumeSource (the common sources only)
    "core.VolumeSource": {
        1: ("hostPath", msg("core.HostPathVolumeSource")), 2: ("emptyDir", msg("core.EmptyDirVolumeSource")),
        6: ("secret", msg("core.SecretVolumeSource")), 7: ("nfs", msg("core.NFSVolumeSource")),
        10: ("persistentVolumeClaim", msg("core.PersistentVolumeClaimVolumeSource")),
        16: ("downwardAPI", msg("core.DownwardAPIVolumeSource")),
        19: ("configMap", msg("core.ConfigMapVolumeSource")),
        26: ("projected", msg("core.ProjectedVolumeSource")), 28: ("csi", msg("core.CSIVolumeSource")),
        30: ("image", msg("core.ImageVolumeSource")),
    },
    # core/v1 generated.proto: message HostPathVolumeSource
    "core.HostPathVolumeSource": {1: ("path", req(STR)), 2: ("type", ptr(STR))},
    # core/v1 generated.proto: message EmptyDirVolumeSource
    "core.EmptyDirVolumeSource": {1: ("medium", STR), 2: ("sizeLimit", QTY)},
    # core/v1 generated.proto: message SecretVolumeSource
    "core.SecretVolumeSource": {
        1: ("secretName", STR), 2: ("items", rep("core.KeyToPath")), 3: ("defaultMode", ptr(INT)),
        4: ("optional", ptr(BOOL)),
    },
    # core/v1 generated.proto: message NFSVolumeSource
    "core.NFSVolumeSource": {1: ("server", req(STR)), 2: ("path", req(STR)), 3: ("readOnly", BOOL)},
    # core/v1 generated.proto: message PersistentVolumeClaimVolumeSource
    "core.PersistentVolumeClaimVolumeSource": {1: ("claimName", req(STR)), 2: ("readOnly", BOOL)},
    # core/v1 generated.proto: message DownwardAPIVolumeSource
    "core.DownwardAPIVolumeSource": {
        1: ("items", rep("core.DownwardAPIVolumeFile")), 2: ("defaultMode", ptr(INT)),
    },
    # core/v1 generated.proto: message DownwardAPIVolumeFile
    "core.DownwardAPIVolumeFile": {
        1: ("path", req(STR)), 2: ("fieldRef", msg("core.ObjectFieldSelector")),
        3: ("resourceFieldRef", msg("core.ResourceFieldSelector")), 4: ("mode", ptr(INT)),
    },
    # core/v1 generated.proto: message ConfigMapVolumeSource
    "core.ConfigMapVolumeSource": {
        1: ("", inline("core.LocalObjectReference")), 2: ("items", rep("core.KeyToPath")),
        3: ("defaultMode", ptr(INT)), 4: ("optional", ptr(BOOL)),
    },
    # core/v1 generated.proto: message KeyToPath
    "core.KeyToPath": {1: ("key", req(STR)), 2: ("path", req(STR)), 3: ("mode", ptr(INT))},
    # core/v1 generated.proto: message ProjectedVolumeSource
    "core.ProjectedVolumeSource": {
        1: ("sources", nullable(rep("core.VolumeProjection"))), 2: ("defaultMode", ptr(INT)),
    },
    # core/v1 generated.proto: message VolumeProjection
    "core.VolumeProjection": {
        1: ("secret", msg("core.SecretProjection")), 2: ("downwardAPI", msg("core.DownwardAPIProjection")),
        3: ("configMap", msg("core.ConfigMapProjection")),
        4: ("serviceAccountToken", msg("core.ServiceAccountTokenProjection")),
        5: ("clusterTrustBundle", msg("core.ClusterTrustBundleProjection")),
    },
    # core/v1 generated.proto: message SecretProjection
    "core.SecretProjection": {
        1: ("", inline("core.LocalObjectReference")), 2: ("items", rep("core.KeyToPath")),
        4: ("optional", ptr(BOOL)),
    },
    # core/v1 generated.proto: message ConfigMapProjection
    "core.ConfigMapProjection": {
        1: ("", inline("core.LocalObjectReference")), 2: ("items", rep("core.KeyToPath")),
        4: ("optional", ptr(BOOL)),
    },
    # core/v1 generated.proto: message DownwardAPIProjection
    "core.DownwardAPIProjection": {1: ("items", rep("core.DownwardAPIVolumeFile"))},
    # core/v1 generated.proto: message ServiceAccountTokenProjection
    "core.ServiceAccountTokenProjection": {
        1: ("audience", STR), 2: ("expirationSeconds", ptr(INT)), 3: ("path", req(STR)),
    },
    # core/v1 generated.proto: message ClusterTrustBundleProjection
    "core.ClusterTrustBundleProjection": {
        1: ("name", ptr(STR)), 2: ("signerName", ptr(STR)), 3: ("labelSelector", msg("meta.LabelSelector")),
        5: ("optional", ptr(BOOL)), 4: ("path", req(STR)),
    },
    # core/v1 generated.proto: message CSIVolumeSource
    "core.CSIVolumeSource": {
        1: ("driver", req(STR)), 2: ("readOnly", ptr(BOOL)), 3: ("fsType", ptr(STR)),
        4: ("volumeAttributes", STR_MAP), 5: ("nodePublishSecretRef", msg("core.LocalObjectReference")),
    },
    # core/v1 generated.proto: message ImageVolumeSource
    "core.ImageVolumeSource": {1: ("reference", STR), 2: ("pullPolicy", STR)},
    # core/v1 generated.proto: message Affinity
    "core.Affinity": {
        1: ("nodeAffinity", msg("core.NodeAffinity")), 2: ("podAffinity", msg("core.PodAffinity")),
        3: ("podAntiAffinity", msg("core.PodAntiAffinity")),
    },
    # core/v1 generated.proto: message NodeAffinity
    "core.NodeAffinity": {
        1: ("requiredDuringSchedulingIgnoredDuringExecution", msg("core.NodeSelector")),
        2: ("preferredDuringSchedulingIgnoredDuringExecution", rep("core.PreferredSchedulingTerm")),
    },
    # core/v1 generated.proto: message NodeSelector
    "core.NodeSelector": {1: ("nodeSelectorTerms", nullable(rep("core.NodeSelectorTerm")))},
    # core/v1 generated.proto: message NodeSelectorTerm
    "core.NodeSelectorTerm": {
        1: ("matchExpressions", rep("core.NodeSelectorRequirement")),
        2: ("matchFields", rep("core.NodeSelectorRequirement")),
    },
    # core/v1 generated.proto: message NodeSelectorRequirement
    "core.NodeSelectorRequirement": {1: ("key", req(STR)), 2: ("operator", req(STR)), 3: ("values", STRS)},
    # core/v1 generated.proto: message PreferredSchedulingTerm
    "core.PreferredSchedulingTerm": {1: ("weight", req(INT)), 2: ("preference", msg("core.NodeSelectorTerm"))},
    # core/v1 generated.proto: message PodAffinity
    "core.PodAffinity": {
        1: ("requiredDuringSchedulingIgnoredDuringExecution", rep("core.PodAffinityTerm")),
        2: ("preferredDuringSchedulingIgnoredDuringExecution", rep("core.WeightedPodAffinityTerm")),
    },
    # core/v1 generated.proto: message PodAntiAffinity
    "core.PodAntiAffinity": {
        1: ("requiredDuringSchedulingIgnoredDuringExecution", rep("core.PodAffinityTerm")),
        2: ("preferredDuringSchedulingIgnoredDuringExecution", rep("core.WeightedPodAffinityTerm")),
    },
    # core/v1 generated.proto: message PodAffinityTerm
    "core.PodAffinityTerm": {
        1: ("labelSelector", msg("meta.LabelSelector")), 2: ("namespaces", STRS),
        3: ("topologyKey", req(STR)), 4: ("namespaceSelector", msg("meta.LabelSelector")),
        5: ("matchLabelKeys", STRS), 6: ("mismatchLabelKeys", STRS),
    },
    # core/v1 generated.proto: message WeightedPodAffinityTerm
    "core.WeightedPodAffinityTerm": {1: ("weight", req(INT)), 2: ("podAffinityTerm", msg("core.PodAffinityTerm"))},
    # core/v1 generated.proto: message Toleration
    "core.Toleration": {
        1: ("key", STR), 2: ("operator", STR), 3: ("value", STR), 4: ("effect", STR),
        5: ("tolerationSeconds", ptr(INT)),
    },
    # core/v1 generated.proto: message HostAlias
    "core.HostAlias": {1: ("ip", req(STR)), 2: ("hostnames", STRS)},
    # core/v1 generated.proto: message PodDNSConfig
    "core.PodDNSConfig": {
        1: ("nameservers", STRS), 2: ("searches", STRS), 3: ("options", rep("core.PodDNSConfigOption")),
    },
    # core/v1 generated.proto: message PodDNSConfigOption
    "core.PodDNSConfigOption": {1: ("name", STR), 2: ("value", ptr(STR))},
    # core/v1 generated.proto: message PodReadinessGate
    "core.PodReadinessGate": {1: ("conditionType", req(STR))},
    # core/v1 generated.proto: message TopologySpreadConstraint
    "core.TopologySpreadConstraint": {
        1: ("maxSkew", req(INT)), 2: ("topologyKey", req(STR)), 3: ("whenUnsatisfiable", req(STR)),
        4: ("labelSelector", msg("meta.LabelSelector")), 5: ("minDomains", ptr(INT)),
        6: ("nodeAffinityPolicy", ptr(STR)), 7: ("nodeTaintsPolicy", ptr(STR)), 8: ("matchLabelKeys", STRS),
    },
    # core/v1 generated.proto: message PodOS
    "core.PodOS": {1: ("name", req(STR))},
    # core/v1 generated.proto: message PodSchedulingGate
    "core.PodSchedulingGate": {1: ("name", req(STR))},
    # core/v1 generated.proto: message PodResourceClaim
    "core.PodResourceClaim": {
        1: ("name", req(STR)), 3: ("resourceClaimName", ptr(STR)), 4: ("resourceClaimTemplateName", ptr(STR)),
    },

    # ---------------------------------------------------------------- apps/v1
    # apps/v1 generated.proto: message Deployment
    "apps.Deployment": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("apps.DeploymentSpec")),
        3: ("status", msg("apps.DeploymentStatus")),
    },
    # apps/v1 generated.proto: message DeploymentSpec
    "apps.DeploymentSpec": {
        1: ("replicas", ptr(INT)), 2: ("selector", nullable(msg("meta.LabelSelector"))),
        3: ("template", msg("core.PodTemplateSpec")), 4: ("strategy", msg("apps.DeploymentStrategy")),
        5: ("minReadySeconds", INT), 6: ("revisionHistoryLimit", ptr(INT)), 7: ("paused", BOOL),
        9: ("progressDeadlineSeconds", ptr(INT)),
    },
    # apps/v1 generated.proto: message DeploymentStrategy
    "apps.DeploymentStrategy": {1: ("type", STR), 2: ("rollingUpdate", msg("apps.RollingUpdateDeployment"))},
    # apps/v1 generated.proto: message RollingUpdateDeployment
    "apps.RollingUpdateDeployment": {1: ("maxUnavailable", INTSTR), 2: ("maxSurge", INTSTR)},
    # apps/v1 generated.proto: message DeploymentStatus
    "apps.DeploymentStatus": {
        1: ("observedGeneration", INT), 2: ("replicas", INT), 3: ("updatedReplicas", INT),
        7: ("readyReplicas", INT), 4: ("availableReplicas", INT), 5: ("unavailableReplicas", INT),
        9: ("terminatingReplicas", ptr(INT)), 6: ("conditions", rep("apps.DeploymentCondition")),
        8: ("collisionCount", ptr(INT)),
    },
    # apps/v1 generated.proto: message DeploymentCondition
    "apps.DeploymentCondition": {
        1: ("type", req(STR)), 2: ("status", req(STR)), 6: ("lastUpdateTime", TIME),
        7: ("lastTransitionTime", TIME), 4: ("reason", STR), 5: ("message", STR),
    },

    # --------------------------------------------------------------- batch/v1
    # batch/v1 generated.proto: message Job
    "batch.Job": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("batch.JobSpec")),
        3: ("status", msg("batch.JobStatus")),
    },
    # batch/v1 generated.proto: message JobSpec (fields up to suspend = 10)
    "batch.JobSpec": {
        1: ("parallelism", ptr(INT)), 2: ("completions", ptr(INT)), 3: ("activeDeadlineSeconds", ptr(INT)),
        7: ("backoffLimit", ptr(INT)), 4: ("selector", msg("meta.LabelSelector")),
        5: ("manualSelector", ptr(BOOL)), 6: ("template", msg("core.PodTemplateSpec")),
        8: ("ttlSecondsAfterFinished", ptr(INT)), 9: ("completionMode", ptr(STR)), 10: ("suspend", ptr(BOOL)),
    },
    # batch/v1 generated.proto: message JobStatus (fields up to completedIndexes = 7)
    "batch.JobStatus": {
        1: ("conditions", rep("batch.JobCondition")), 2: ("startTime", TIME), 3: ("completionTime", TIME),
        4: ("active", INT), 5: ("succeeded", INT), 6: ("failed", INT), 7: ("completedIndexes", STR),
    },
    # batch/v1 generated.proto: message JobCondition
    "batch.JobCondition": {
        1: ("type", req(STR)), 2: ("status", req(STR)), 3: ("lastProbeTime", TIME),
        4: ("lastTransitionTime", TIME), 5: ("reason", STR), 6: ("message", STR),
    },
    # batch/v1 generated.proto: message CronJob
    "batch.CronJob": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("batch.CronJobSpec")),
        3: ("status", msg("batch.CronJobStatus")),
    },
    # batch/v1 generated.proto: message CronJobSpec (fields up to failedJobsHistoryLimit = 7)
    "batch.CronJobSpec": {
        1: ("schedule", req(STR)), 2: ("startingDeadlineSeconds", ptr(INT)), 3: ("concurrencyPolicy", STR),
        4: ("suspend", ptr(BOOL)), 5: ("jobTemplate", msg("batch.JobTemplateSpec")),
        6: ("successfulJobsHistoryLimit", ptr(INT)), 7: ("failedJobsHistoryLimit", ptr(INT)),
    },
    # batch/v1 generated.proto: message CronJobStatus
    "batch.CronJobStatus": {
        1: ("active", rep("core.ObjectReference")), 4: ("lastScheduleTime", TIME),
        5: ("lastSuccessfulTime", TIME),
    },
    # batch/v1 generated.proto: message JobTemplateSpec
    "batch.JobTemplateSpec": {1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("batch.JobSpec"))},

    # ------------------------------------------- authentication.k8s.io/v1, authorization.k8s.io/v1
    # (kubectl create token, auth can-i [--list], auth whoami), policy/v1 (kubectl drain)
    # authentication/v1 generated.proto: message TokenRequest
    "authentication.TokenRequest": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("authentication.TokenRequestSpec")),
        3: ("status", msg("authentication.TokenRequestStatus")),
    },
    # authentication/v1 generated.proto: message TokenRequestSpec (attestations = 5 left out: alpha)
    "authentication.TokenRequestSpec": {
        1: ("audiences", nullable(STRS)), 4: ("expirationSeconds", nullable(INT)),
        3: ("boundObjectRef", nullable(msg("authentication.BoundObjectReference"))),
    },
    # authentication/v1 generated.proto: message BoundObjectReference
    "authentication.BoundObjectReference": {1: ("kind", STR), 2: ("apiVersion", STR), 3: ("name", STR), 4: ("uid", STR)},
    # authentication/v1 generated.proto: message TokenRequestStatus
    "authentication.TokenRequestStatus": {1: ("token", req(STR)), 2: ("expirationTimestamp", nullable(TIME))},
    # authentication/v1 generated.proto: message SelfSubjectReview
    "authentication.SelfSubjectReview": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("status", msg("authentication.SelfSubjectReviewStatus")),
    },
    # authentication/v1 generated.proto: message SelfSubjectReviewStatus
    "authentication.SelfSubjectReviewStatus": {1: ("userInfo", msg("authentication.UserInfo"))},
    # authentication/v1 generated.proto: message UserInfo (extra = 4, map<string, ExtraValue>, left out)
    "authentication.UserInfo": {1: ("username", STR), 2: ("uid", STR), 3: ("groups", STRS)},
    # authorization/v1 generated.proto: message SelfSubjectAccessReview
    "authorization.SelfSubjectAccessReview": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("authorization.SelfSubjectAccessReviewSpec")),
        3: ("status", msg("authorization.SubjectAccessReviewStatus")),
    },
    # authorization/v1 generated.proto: message SelfSubjectAccessReviewSpec
    "authorization.SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", msg("authorization.ResourceAttributes")),
        2: ("nonResourceAttributes", msg("authorization.NonResourceAttributes")),
    },
    # authorization/v1 generated.proto: message ResourceAttributes
    "authorization.ResourceAttributes": {
        1: ("namespace", STR), 2: ("verb", STR), 3: ("group", STR), 4: ("version", STR), 5: ("resource", STR),
        6: ("subresource", STR), 7: ("name", STR), 8: ("fieldSelector", msg("authorization.SelectorAttributes")),
        9: ("labelSelector", msg("authorization.SelectorAttributes")),
    },
    # authorization/v1 generated.proto: FieldSelectorAttributes and LabelSelectorAttributes
    # {1: rawSelector, 2: requirements} (the requirements are left out)
    "authorization.SelectorAttributes": {1: ("rawSelector", STR)},
    # authorization/v1 generated.proto: message NonResourceAttributes
    "authorization.NonResourceAttributes": {1: ("path", STR), 2: ("verb", STR)},
    # authorization/v1 generated.proto: message SubjectAccessReviewStatus
    "authorization.SubjectAccessReviewStatus": {
        1: ("allowed", req(BOOL)), 4: ("denied", BOOL), 2: ("reason", STR), 3: ("evaluationError", STR),
    },
    # authorization/v1 generated.proto: message SelfSubjectRulesReview
    "authorization.SelfSubjectRulesReview": {
        1: ("metadata", msg("meta.ObjectMeta")), 2: ("spec", msg("authorization.SelfSubjectRulesReviewSpec")),
        3: ("status", msg("authorization.SubjectRulesReviewStatus")),
    },
    # authorization/v1 generated.proto: message SelfSubjectRulesReviewSpec
    "authorization.SelfSubjectRulesReviewSpec": {1: ("namespace", STR)},
    # authorization/v1 generated.proto: message SubjectRulesReviewStatus
    "authorization.SubjectRulesReviewStatus": {
        1: ("resourceRules", nullable(rep("authorization.ResourceRule"))),
        2: ("nonResourceRules", nullable(rep("authorization.NonResourceRule"))),
        3: ("incomplete", req(BOOL)), 4: ("evaluationError", STR),
    },
    # authorization/v1 generated.proto: message ResourceRule
    "authorization.ResourceRule": {1: ("verbs", nullable(STRS)), 2: ("apiGroups", STRS), 3: ("resources", STRS),
                                   4: ("resourceNames", STRS)},
    # authorization/v1 generated.proto: message NonResourceRule
    "authorization.NonResourceRule": {1: ("verbs", nullable(STRS)), 2: ("nonResourceURLs", STRS)},
    # policy/v1 generated.proto: message Eviction
    "policy.Eviction": {1: ("metadata", msg("meta.ObjectMeta")), 2: ("deleteOptions", msg("meta.DeleteOptions"))},
}

# (apiVersion, kind) -> top-level message.  apiVersion "*" matches any group
# version: metav1.AddToGroupVersion registers DeleteOptions in every one.
TOP_LEVEL: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "core.Namespace",
    ("v1", "Service"): "core.Service",
    ("v1", "ConfigMap"): "core.ConfigMap",
    ("v1", "Secret"): "core.Secret",
    ("v1", "ServiceAccount"): "core.ServiceAccount",
    ("v1", "ResourceQuota"): "core.ResourceQuota",
    ("v1", "Pod"): "core.Pod",
    ("apps/v1", "Deployment"): "apps.Deployment",
    ("batch/v1", "Job"): "batch.Job",
    ("batch/v1", "CronJob"): "batch.CronJob",
    ("*", "DeleteOptions"): "meta.DeleteOptions",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.TokenRequest",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "authentication.SelfSubjectReview",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "authorization.SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "authorization.SelfSubjectRulesReview",
    ("policy/v1", "Eviction"): "policy.Eviction",
}

# runtime/generated.proto: message Unknown {1: TypeMeta, 2: raw, 3: contentEncoding, 4: contentType}
# runtime/generated.proto: message TypeMeta {1: apiVersion, 2: kind}
_UNKNOWN_TYPEMETA, _UNKNOWN_RAW, _UNKNOWN_ENCODING, _UNKNOWN_CTYPE = 1, 2, 3, 4
_TYPEMETA_APIVERSION, _TYPEMETA_KIND = 1, 2


def supported_kinds() -> list[str]:
    """``apiVersion/kind`` strings that `decode` understands, for messages."""
    return sorted(f"{gv}/{kind}" if gv != "*" else f"*/{kind}" for gv, kind in TOP_LEVEL)


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------

_ZERO: dict[str, Any] = {"string": "", "int": 0, "bool": False}
_GO_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z, time.Time{} in Unix seconds
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _text(data: bytes) -> str:
    """Go strings are bytes; JSON encoding replaces invalid UTF-8 with U+FFFD."""
    return data.decode("utf-8", errors="replace")


def _expect(wire: int, wanted: int, path: str) -> None:
    if wire != wanted:
        raise ProtobufError(f"{path}: wire type {wire}, expected {wanted}")


def _scalar(tag: str, repeated: bool, wire: int, value: WireValue, path: str) -> list[Any]:
    """Decode one occurrence of a scalar field; packed runs give several values."""
    if tag == "string":
        _expect(wire, WIRE_LEN, path)
        return [_text(value)]  # type: ignore[arg-type]
    if repeated and wire == WIRE_LEN:  # packed repeated int / bool
        raw = _varints(value)  # type: ignore[arg-type]
    else:
        _expect(wire, WIRE_VARINT, path)
        raw = [value]  # type: ignore[list-item]
    if tag == "bool":
        return [v != 0 for v in raw]
    return [_signed(v) for v in raw]


def _decode_time(data: bytes, path: str) -> str | None:
    """metav1.Time: Timestamp{1: seconds, 2: nanos}; JSON keeps whole seconds."""
    if not data:
        return None
    seconds = 0
    for field, wire, value in iter_fields(data):
        if field == 1:
            _expect(wire, WIRE_VARINT, path)
            seconds = _signed(value)  # type: ignore[arg-type]
    if seconds == _GO_ZERO_TIME:
        return None
    try:
        stamp = _EPOCH + _dt.timedelta(seconds=seconds)
    except OverflowError as err:
        raise ProtobufError(f"{path}: time out of range: {seconds}") from err
    return (f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}"
            f"T{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}Z")


def _decode_intstr(data: bytes, path: str) -> int | str:
    """IntOrString{1: type, 2: intVal, 3: strVal}: type 0 is int, 1 is string."""
    kind, ival, sval = 0, 0, ""
    for field, wire, value in iter_fields(data):
        if field == 1:
            _expect(wire, WIRE_VARINT, path)
            kind = _signed(value)  # type: ignore[arg-type]
        elif field == 2:
            _expect(wire, WIRE_VARINT, path)
            ival = _signed(value)  # type: ignore[arg-type]
        elif field == 3:
            _expect(wire, WIRE_LEN, path)
            sval = _text(value)  # type: ignore[arg-type]
    if kind == 0:
        return ival
    if kind == 1:
        return sval
    raise ProtobufError(f"{path}: impossible IntOrString type {kind}")


def _decode_quantity(data: bytes, path: str) -> str:
    """resource.Quantity{1: string}; the client already wrote the canonical form."""
    text = ""
    for field, wire, value in iter_fields(data):
        if field == 1:
            _expect(wire, WIRE_LEN, path)
            text = _text(value)  # type: ignore[arg-type]
    return text


def _decode_fieldsv1(data: bytes, path: str) -> Any:
    """FieldsV1{1: Raw}: Raw already is the JSON document."""
    raw: bytes | None = None
    for field, wire, value in iter_fields(data):
        if field == 1:
            _expect(wire, WIRE_LEN, path)
            raw = value  # type: ignore[assignment]
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as err:
        raise ProtobufError(f"{path}: FieldsV1 is not JSON: {err}") from err


def _decode_map_entry(data: bytes, value_tag: str, path: str) -> tuple[str, Any]:
    """A map entry message {1: key, 2: value}; missing parts are zero values."""
    key, raw = "", b""
    for field, wire, value in iter_fields(data):
        if field == 1:
            _expect(wire, WIRE_LEN, path)
            key = _text(value)  # type: ignore[arg-type]
        elif field == 2:
            _expect(wire, WIRE_LEN, path)
            raw = value  # type: ignore[assignment]
    if value_tag == "string":
        return key, _text(raw)
    if value_tag == "bytes":
        return key, base64.b64encode(raw).decode("ascii")
    if value_tag == "quantity":
        return key, _decode_quantity(raw, f"{path}[{key}]") if raw else "0"
    raise ProtobufError(f"{path}: unsupported map value type {value_tag}")


def _render(kind: Kind, data: bytes, path: str, strict: bool, depth: int) -> Any:
    """Render one length-delimited value of a non-scalar Kind."""
    if kind.tag == "message":
        return decode_message(kind.message, data, strict=strict, _path=path, _depth=depth + 1)
    if kind.tag == "time":
        return _decode_time(data, path)
    if kind.tag == "intstr":
        return _decode_intstr(data, path)
    if kind.tag == "quantity":
        return _decode_quantity(data, path)
    if kind.tag == "fieldsv1":
        return _decode_fieldsv1(data, path)
    if kind.tag == "bytes":
        return base64.b64encode(data).decode("ascii")
    raise ProtobufError(f"{path}: unknown kind {kind.tag}")


def decode_message(type_name: str, data: bytes, *, strict: bool = False,
                   _path: str = "", _depth: int = 0) -> dict[str, Any]:
    """Decode ``data`` as the SCHEMA message ``type_name`` into a JSON-shaped dict."""
    if _depth > _MAX_DEPTH:
        raise ProtobufError(f"{_path or type_name}: messages nested too deeply")
    try:
        table = SCHEMA[type_name]
    except KeyError:
        raise ProtobufError(f"no schema for message {type_name}") from None
    path = _path or type_name
    scalars: dict[int, Any] = {}
    lists: dict[int, list[Any]] = {}
    maps: dict[int, dict[str, Any]] = {}
    chunks: dict[int, bytearray] = {}  # non-repeated messages: concatenation == proto merge
    for field, wire, value in iter_fields(data):
        spec = table.get(field)
        if spec is None:
            if strict:
                raise ProtobufError(f"{path}: unknown field number {field} (wire type {wire})")
            continue
        name, kind = spec
        where = f"{path}.{name or kind.message}"
        if kind.tag in _ZERO:
            decoded = _scalar(kind.tag, kind.repeated, wire, value, where)
            if kind.repeated:
                lists.setdefault(field, []).extend(decoded)
            else:
                scalars[field] = decoded[-1]
            continue
        _expect(wire, WIRE_LEN, where)
        if kind.tag == "map":
            key, item = _decode_map_entry(value, kind.value, where)  # type: ignore[arg-type]
            maps.setdefault(field, {})[key] = item
        elif kind.repeated:
            item_path = f"{where}[{len(lists.get(field, []))}]"
            lists.setdefault(field, []).append(_render(kind, value, item_path, strict, _depth))  # type: ignore[arg-type]
        else:
            chunks.setdefault(field, bytearray()).extend(value)  # type: ignore[arg-type]

    out: dict[str, Any] = {}
    for field, (name, kind) in table.items():
        if field in scalars:
            value = scalars[field]
            if kind.keep or value != _ZERO[kind.tag]:
                out[name] = value
        elif field in lists:
            out[name] = lists[field]
        elif field in maps:
            out[name] = maps[field]
        elif field in chunks:
            rendered = _render(kind, bytes(chunks[field]), f"{path}.{name or kind.message}", strict, _depth)
            if kind.inline:
                out.update(rendered)
            else:
                out[name] = rendered
        elif kind.null:
            out[name] = None
    return out


def decode_object(api_version: str, kind: str, raw: bytes, *, strict: bool = False) -> dict[str, Any]:
    """Decode the ``raw`` bytes of a typed object named by apiVersion and kind."""
    type_name = TOP_LEVEL.get((api_version, kind)) or TOP_LEVEL.get(("*", kind))
    if type_name is None:
        raise ProtobufError(
            f"protobuf decoding of apiVersion={api_version!r} kind={kind!r} is not supported "
            f"(supported: {', '.join(supported_kinds())})")
    body = decode_message(type_name, raw, strict=strict, _path=kind)
    return {"kind": kind, "apiVersion": api_version, **body}


def decode(body: bytes, *, strict: bool = False) -> dict[str, Any]:
    """Decode a ``application/vnd.kubernetes.protobuf`` request body.

    Returns the dict the same object would give as a JSON body.  Raises
    `ProtobufError` (a ValueError) for a missing magic prefix, malformed wire
    data, an encoded payload, or an apiVersion/kind that has no schema here.
    With ``strict=True`` unknown field numbers are errors instead of skipped.
    """
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body: missing the 'k8s\\x00' prefix")
    api_version = kind = encoding = content_type = ""
    raw = b""
    for field, wire, value in iter_fields(body[len(MAGIC):]):
        if field == _UNKNOWN_TYPEMETA:
            _expect(wire, WIRE_LEN, "Unknown.typeMeta")
            for tfield, twire, tvalue in iter_fields(value):  # type: ignore[arg-type]
                if tfield == _TYPEMETA_APIVERSION:
                    _expect(twire, WIRE_LEN, "TypeMeta.apiVersion")
                    api_version = _text(tvalue)  # type: ignore[arg-type]
                elif tfield == _TYPEMETA_KIND:
                    _expect(twire, WIRE_LEN, "TypeMeta.kind")
                    kind = _text(tvalue)  # type: ignore[arg-type]
        elif field == _UNKNOWN_RAW:
            _expect(wire, WIRE_LEN, "Unknown.raw")
            raw = value  # type: ignore[assignment]
        elif field == _UNKNOWN_ENCODING:
            _expect(wire, WIRE_LEN, "Unknown.contentEncoding")
            encoding = _text(value)  # type: ignore[arg-type]
        elif field == _UNKNOWN_CTYPE:
            _expect(wire, WIRE_LEN, "Unknown.contentType")
            content_type = _text(value)  # type: ignore[arg-type]
    if encoding:
        raise ProtobufError(f"unsupported protobuf contentEncoding {encoding!r}")
    if not api_version or not kind:
        raise ProtobufError("protobuf body has no apiVersion/kind in its TypeMeta")
    if content_type in ("", CONTENT_TYPE):
        return decode_object(api_version, kind, raw, strict=strict)
    if content_type == "application/json":
        try:
            data = json.loads(raw or b"{}")
        except ValueError as err:
            raise ProtobufError(f"embedded JSON does not parse: {err}") from err
        if not isinstance(data, dict):
            raise ProtobufError("embedded JSON is not an object")
        return {"kind": kind, "apiVersion": api_version, **data}
    raise ProtobufError(f"unsupported protobuf contentType {content_type!r}")
