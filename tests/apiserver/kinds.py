"""The resource kinds the local API server serves.

One `Kind` per resource: where it lives in the API, what discovery says about
it, how it is defaulted and validated, and its server-side table columns.
Adding a kind is one entry here. Custom resources get their `Kind` from the
CustomResourceDefinition object (see `kind_from_crd`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import ephemeral, events, reviews, tables, validation

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    cell: Callable[[dict, float], Any]
    priority: int = 0
    format: str = ""


@dataclass
class Kind:
    group: str
    versions: tuple[str, ...]  # served, preferred first
    plural: str
    kind: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    columns: tuple[Column, ...] = ()
    # defaulting on create (obj, cluster) and on update (obj, old, cluster)
    default: Callable[..., None] | None = None
    validate: Callable[[dict, dict | None], list] | None = None
    field_selectors: dict[str, Callable[[dict], str]] = field(default_factory=dict)
    warning: str = ""  # sent as a Warning header on every request for the kind
    schemas: dict[str, dict] = field(default_factory=dict)  # CRDs: version -> openAPIV3Schema
    has_generation: bool = False
    status_subresource: bool = False
    create_on_update: bool = False  # PUT to a missing name creates it (AllowCreateOnUpdate)
    unconditional_update: bool = True  # PUT without resourceVersion allowed (AllowUnconditionalUpdate)
    # the scheme's defaulting (SetDefaults_*), which runs as the request body is decoded:
    # before field management, so the writer owns what it defaults (`default` is the rest)
    decode: Callable[[dict], None] | None = None
    # a kind that is computed, not stored (SelfSubjectAccessReview, ...): POST answers
    # virtual(cluster, request, target, body) with 201
    virtual: Callable[..., dict] | None = None
    # subresources written through a strategy of their own (prepare_for_update, validate_update)
    # instead of the kind's defaulting and validation: pods/ephemeralcontainers
    strategies: dict[str, Any] = field(default_factory=dict)
    _field_types: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}"

    @property
    def storage_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v

    @property
    def qualified(self) -> str:
        """`services`, `destinationrules.networking.istio.io` (for messages)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    # -- server-side field management (managed.py) ---------------------------------------
    def field_type(self, version: str):
        """The structured-merge-diff type of the kind at version: the CRD's schema for
        custom resources, builtin_schemas.FIELD_SCHEMAS for built-ins; ObjectMeta for metadata."""
        from . import managed
        from .builtin_schemas import FIELD_SCHEMAS, OBJECT_META
        if version not in self._field_types:
            if self.schemas:
                self._field_types[version] = managed.object_type(self.schemas.get(version), OBJECT_META)
            else:
                self._field_types[version] = managed.object_type(FIELD_SCHEMAS.get(self.kind), OBJECT_META,
                                                                 loose=True)
        return self._field_types[version]

    def omit_empty(self) -> tuple[str, ...]:
        """Maps and lists a built-in's Go type drops when empty (`omitempty`): a `labels: {}`
        in a JSON body never reaches the field manager. Custom resources keep what they get."""
        if self.schemas:
            return ()
        return ("metadata.labels", "metadata.annotations", "metadata.ownerReferences",
                "metadata.finalizers")

    def zero(self, version: str) -> dict:
        """The empty object a create is compared with (`scope.Creater.New`)."""
        from .builtin_schemas import ZERO
        if self.schemas:  # unstructured.Unstructured with its group, version and kind
            return {"apiVersion": self.api_version(version), "kind": self.kind}
        return ZERO.get(self.kind, {"metadata": {"creationTimestamp": None}})

    def reset_fields(self, sub: str = ""):
        """The strategy's GetResetFields: what a write through this endpoint never owns.
        The main resource of a kind with a status subresource resets status; the status
        subresource resets spec (registry/*/strategy.go)."""
        from .managed import FieldSet
        if sub == "status":
            return FieldSet.from_paths("spec")
        return FieldSet.from_paths("status") if "status" in self.subresources else FieldSet()


def _meta_fields() -> dict[str, Callable[[dict], str]]:
    return {
        "metadata.name": lambda o: o["metadata"].get("name", ""),
        "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
    }


def _age() -> Column:
    return Column("Age", "string", "CreationTimestamp is a timestamp representing the server "
                  "time when this object was created.", tables.age)


def _name() -> Column:
    return Column("Name", "string", "Name must be unique within a namespace.",
                  lambda o, now: o["metadata"]["name"], format="name")


def _subjects(kind: str) -> Callable[[dict, float], str]:
    """printRoleBinding's cells: rbacv1helpers.SubjectsStrings (a ServiceAccount as NAMESPACE/NAME)."""
    def cell(o: dict, now: float) -> str:
        return ", ".join(f"{s['namespace']}/{s.get('name', '')}" if kind == "ServiceAccount" and s.get("namespace")
                         else s.get("name", "") for s in o.get("subjects") or () if s.get("kind") == kind)
    return cell


def builtin_kinds() -> list[Kind]:
    return [
        Kind("", ("v1",), "namespaces", "Namespace", "namespace", namespaced=False,
             short_names=("ns",), verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
             subresources={"status": ("get", "patch", "update"), "finalize": ("update",)},
             columns=(_name(), Column("Status", "string", "The status of the namespace",
                                      lambda o, now: o.get("status", {}).get("phase", "")), _age()),
             default=validation.default_namespace, validate=validation.validate_namespace,
             decode=validation.decode_namespace,
             field_selectors={**_meta_fields(), "status.phase": lambda o: o.get("status", {}).get("phase", "")}),
        Kind("", ("v1",), "services", "Service", "service", short_names=("svc",), categories=("all",),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
             subresources={"status": ("get", "patch", "update"), "proxy": ("create", "delete", "get", "patch", "update")},
             columns=tables.SERVICE_COLUMNS, default=validation.default_service,
             decode=validation.decode_service,
             validate=validation.validate_service, field_selectors=_meta_fields(),
             status_subresource=True, create_on_update=True),
        Kind("", ("v1",), "endpoints", "Endpoints", "endpoints", short_names=("ep",),
             columns=tables.ENDPOINTS_COLUMNS, default=validation.default_endpoints,
             decode=validation.decode_endpoints,
             validate=validation.validate_endpoints, field_selectors=_meta_fields(),
             create_on_update=True,
             warning="v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"),
        Kind("discovery.k8s.io", ("v1",), "endpointslices", "EndpointSlice", "endpointslice",
             columns=tables.ENDPOINTSLICE_COLUMNS, default=validation.default_endpointslice,
             decode=validation.default_endpointslice,
             validate=validation.validate_endpointslice, field_selectors=_meta_fields(),
             has_generation=True),
        Kind("", ("v1",), "pods", "Pod", "pod", short_names=("po",), categories=("all",),
             subresources={"status": ("get", "patch", "update"), "exec": ("create", "get"),
                           "log": ("get",), "binding": ("create",), "eviction": ("create",),
                           "ephemeralcontainers": ("get", "patch", "update"),
                           "attach": ("create", "get"), "portforward": ("create", "get"),
                           "proxy": ("create", "delete", "get", "patch", "update")},
             columns=tables.POD_COLUMNS, default=validation.default_pod, decode=validation.decode_pod,
             validate=validation.validate_pod, status_subresource=True,
             strategies={"ephemeralcontainers": ephemeral.STRATEGY},
             field_selectors={**_meta_fields(),
                              "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
                              "status.phase": lambda o: o.get("status", {}).get("phase", ""),
                              "spec.serviceAccountName": lambda o: o.get("spec", {}).get("serviceAccountName", "")}),
        Kind("", ("v1",), "serviceaccounts", "ServiceAccount", "serviceaccount", short_names=("sa",),
             subresources={"token": ("create",)},
             columns=(_name(), Column("Secrets", "string", "Secrets is a list of the secrets "
                                      "in the same namespace that pods running using this "
                                      "ServiceAccount are allowed to use.",
                                      lambda o, now: len(o.get("secrets") or [])), _age()),
             validate=validation.validate_generic, field_selectors=_meta_fields()),
        Kind("", ("v1",), "configmaps", "ConfigMap", "configmap", short_names=("cm",),
             columns=(_name(), Column("Data", "string", "Data contains the configuration data.",
                                      lambda o, now: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
                      _age()),
             validate=validation.validate_generic, field_selectors=_meta_fields()),
        Kind("", ("v1",), "events", "Event", "event", short_names=("ev",),
             columns=events.columns(), validate=validation.validate_generic,
             field_selectors={**_meta_fields(),
                              "involvedObject.kind": lambda o: o.get("involvedObject", {}).get("kind", ""),
                              "involvedObject.name": lambda o: o.get("involvedObject", {}).get("name", ""),
                              "involvedObject.namespace": lambda o: o.get("involvedObject", {}).get("namespace", ""),
                              "involvedObject.uid": lambda o: o.get("involvedObject", {}).get("uid", ""),
                              "involvedObject.apiVersion": lambda o: o.get("involvedObject", {}).get("apiVersion", ""),
                              "involvedObject.resourceVersion": lambda o: o.get("involvedObject", {}).get("resourceVersion", ""),
                              "involvedObject.fieldPath": lambda o: o.get("involvedObject", {}).get("fieldPath", ""),
                              "reason": lambda o: o.get("reason", ""),
                              "reportingComponent": lambda o: o.get("reportingComponent", ""),
                              "source": lambda o: o.get("source", {}).get("component", ""),
                              "type": lambda o: o.get("type", "")}),
        Kind("", ("v1",), "nodes", "Node", "node", namespaced=False, short_names=("no",),
             subresources={"status": ("get", "patch", "update"), "proxy": ("create", "delete", "get", "patch", "update")},
             columns=tables.NODE_COLUMNS, validate=validation.validate_generic,
             field_selectors=_meta_fields()),
        Kind("apps", ("v1",), "deployments", "Deployment", "deployment", short_names=("deploy",),
             categories=("all",),
             subresources={"status": ("get", "patch", "update"), "scale": ("get", "patch", "update")},
             columns=tables.DEPLOYMENT_COLUMNS, default=validation.default_deployment,
             decode=validation.default_deployment,
             validate=validation.validate_deployment, field_selectors=_meta_fields(),
             has_generation=True, status_subresource=True),
        Kind("apps", ("v1",), "replicasets", "ReplicaSet", "replicaset", short_names=("rs",),
             categories=("all",),
             subresources={"status": ("get", "patch", "update"), "scale": ("get", "patch", "update")},
             columns=(_name(), _age()), validate=validation.validate_generic,
             decode=validation.decode_replicaset,
             field_selectors=_meta_fields(), has_generation=True, status_subresource=True),
        Kind("apps", ("v1",), "daemonsets", "DaemonSet", "daemonset", short_names=("ds",), categories=("all",),
             subresources={"status": ("get", "patch", "update")},
             columns=tables.DAEMONSET_COLUMNS, default=validation.default_daemonset,
             decode=validation.default_daemonset,
             validate=validation.validate_deployment, field_selectors=_meta_fields(),
             has_generation=True, status_subresource=True),
        # namespaced RBAC, which the authorizer reads (rbac.py); tables: the default table
        # convertor's for Role, printers.go printRoleBinding for RoleBinding
        Kind("rbac.authorization.k8s.io", ("v1",), "roles", "Role", "role",
             columns=(_name(), Column("Created At", "date", "", lambda o, now:
                                      o["metadata"].get("creationTimestamp", ""))),
             validate=validation.validate_generic, field_selectors=_meta_fields()),
        Kind("rbac.authorization.k8s.io", ("v1",), "rolebindings", "RoleBinding", "rolebinding",
             columns=(_name(), Column("Role", "string", "", lambda o, now: "{kind}/{name}".format(
                                      kind=(o.get("roleRef") or {}).get("kind", ""),
                                      name=(o.get("roleRef") or {}).get("name", ""))), _age(),
                      *(Column(title, "string", f"{title} in the roleBinding", _subjects(kind), priority=1)
                        for title, kind in (("Users", "User"), ("Groups", "Group"),
                                            ("ServiceAccounts", "ServiceAccount")))),
             validate=validation.validate_generic, field_selectors=_meta_fields()),
        # computed per request, never stored (reviews.py)
        Kind("authorization.k8s.io", ("v1",), "selfsubjectaccessreviews", "SelfSubjectAccessReview",
             "selfsubjectaccessreview", namespaced=False, verbs=("create",), virtual=reviews.access_review),
        Kind("authorization.k8s.io", ("v1",), "selfsubjectrulesreviews", "SelfSubjectRulesReview",
             "selfsubjectrulesreview", namespaced=False, verbs=("create",), virtual=reviews.rules_review),
        Kind("authentication.k8s.io", ("v1",), "selfsubjectreviews", "SelfSubjectReview",
             "selfsubjectreview", namespaced=False, verbs=("create",), virtual=reviews.self_review),
        Kind("apiextensions.k8s.io", ("v1",), "customresourcedefinitions", "CustomResourceDefinition",
             "customresourcedefinition", namespaced=False, short_names=("crd", "crds"),
             categories=("api-extensions",), subresources={"status": ("get", "patch", "update")},
             columns=(_name(), Column("Created At", "date", "", lambda o, now:
                                      o["metadata"].get("creationTimestamp", ""))),
             default=validation.default_crd, validate=validation.validate_crd, decode=validation.decode_crd,
             field_selectors=_meta_fields(), has_generation=True, status_subresource=True),
    ]


def kind_from_crd(crd: dict) -> Kind:
    """The `Kind` a CustomResourceDefinition defines, as apiextensions-apiserver serves it."""
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec.get("versions", []) if v.get("served")]
    # Discovery orders versions by kube-aware version priority: v1 > v1beta1 > v1alpha3.
    served.sort(key=lambda v: tables.version_priority(v["name"]), reverse=True)
    versions = tuple(v["name"] for v in served)
    storage = next((v for v in spec.get("versions", []) if v.get("storage")), served[0] if served else {})
    printer = storage.get("additionalPrinterColumns")
    columns = [_name()]
    if printer is None:
        columns.append(Column("Age", "date", "", tables.age))
    else:
        for col in printer:
            description = col.get("description") or \
                f"Custom resource definition column (in JSONPath format): {col['jsonPath']}"
            columns.append(Column(col["name"], col.get("type", "string"), description,
                                  tables.json_path_cell(col["jsonPath"], col.get("type", "string")),
                                  priority=col.get("priority", 0), format=col.get("format", "")))
    schemas = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema", {}) for v in served}
    return Kind(spec["group"], versions, names["plural"], names["kind"],
                names.get("singular", names["kind"].lower()),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", ())),
                categories=tuple(names.get("categories", ())),
                subresources={"status": ("get", "patch", "update")}
                if (storage.get("subresources") or {}).get("status") is not None else {},
                columns=tuple(columns), validate=validation.validate_custom_resource,
                field_selectors=_meta_fields(), schemas=schemas, has_generation=True,
                unconditional_update=False)
