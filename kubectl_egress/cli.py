"""Click wiring: flags, arguments and help text; the commands do the work.

kubectl's connection flags are accepted before or after the subcommand
(`kubectl egress -n prod get` and `kubectl egress get -n prod`), as kubectl
accepts them; the value nearest the subcommand wins. `main` is the one error
boundary: a failure is one line on stderr, exit 2 for bad arguments and 1
for the rest, and a traceback only with -v.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click

from . import __version__, completion
from .errors import EgressError

FLAGS = "kubectl_egress.flags"
APP = "kubectl_egress.app"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
F = Callable[..., Any]


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Record a connection flag on the root context: a value nearer the subcommand wins, and
    repeated flags (--as-group) add up."""
    if value is None or value == () or value is False:
        return value
    flags = ctx.find_root().meta.setdefault(FLAGS, {})
    if isinstance(value, tuple):
        flags[param.name] = tuple(flags.get(param.name, ())) + value
    else:
        flags[param.name] = value
    return value


class Level(click.ParamType):
    """kubectl's -v=6, --v=6 and -v 6."""

    name = "LEVEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).lstrip("=")
        if not text.isdigit():
            self.fail(f'"{value}" is not a log level: give a number such as 6', param, ctx)
        return int(text)


# kubectl's global flags that make sense for a plugin, with kubectl's help texts (`kubectl
# options`; clientcmd overrides.go and cli-runtime's ConfigFlags). (names, metavar, help,
# is_flag, multiple). They are hidden on each command's page and listed by `kubectl egress options`.
GLOBAL_FLAGS: list[tuple[tuple[str, ...], str, str, bool, bool]] = [
    (("--as",), "USER", "Username to impersonate for the operation. User could be a regular user or a "
                        "service account in a namespace.", False, False),
    (("--as-group",), "GROUP", "Group to impersonate for the operation, this flag can be repeated to "
                               "specify multiple groups.", False, True),
    (("--as-uid",), "UID", "UID to impersonate for the operation.", False, False),
    (("--cache-dir",), "DIR", "Default cache directory", False, False),
    (("--certificate-authority",), "PATH", "Path to a cert file for the certificate authority", False, False),
    (("--client-certificate",), "PATH", "Path to a client certificate file for TLS", False, False),
    (("--client-key",), "PATH", "Path to a client key file for TLS", False, False),
    (("--cluster",), "NAME", "The name of the kubeconfig cluster to use", False, False),
    (("--context",), "NAME", "The name of the kubeconfig context to use", False, False),
    (("--disable-compression",), "", "If true, opt-out of response compression for all requests to "
                                     "the server (the plugin never asks for compression)", True, False),
    (("--insecure-skip-tls-verify",), "", "If true, the server's certificate will not be checked for "
                                          "validity. This will make your HTTPS connections insecure",
     True, False),
    (("--kubeconfig",), "PATH", "Path to the kubeconfig file to use for CLI requests.", False, False),
    (("-n", "--namespace"), "NS", "If present, the namespace scope for this CLI request", False, False),
    (("--password",), "PASSWORD", "Password for basic authentication to the API server", False, False),
    (("--request-timeout",), "DURATION", "The length of time to wait before giving up on a single "
                                         "server request. Non-zero values should contain a "
                                         "corresponding time unit (e.g. 1s, 2m, 3h). A value of zero "
                                         "means don't timeout requests.", False, False),
    (("-s", "--server"), "URL", "The address and port of the Kubernetes API server", False, False),
    (("--tls-server-name",), "NAME", "Server name to use for server certificate validation. If it is "
                                     "not provided, the hostname used to contact the server is used",
     False, False),
    (("--token",), "TOKEN", "Bearer token for authentication to the API server", False, False),
    (("--user",), "NAME", "The name of the kubeconfig user to use", False, False),
    (("--username",), "NAME", "Username for basic authentication to the API server", False, False),
    (("-v", "--v"), "LEVEL", "number for the log level verbosity (1: tracebacks, 6: every request)",
     False, False),
    (("--warnings-as-errors",), "", "Treat warnings received from the server as errors and exit with "
                                    "a non-zero exit code", True, False),
]
OPTIONS_HINT = 'Use "kubectl egress options" for a list of global command-line options (applies to all commands).'


def _global_options() -> list[click.Option]:
    options = []
    for names, metavar, text, is_flag, multiple in GLOBAL_FLAGS:
        extra: dict[str, Any] = {"is_flag": True, "default": None} if is_flag else {"metavar": metavar}
        if names[-1] == "--v":
            extra["type"] = Level()
        options.append(click.Option([*names, names[-1].lstrip("-").replace("-", "_")], help=text, hidden=True,
                                    expose_value=False, callback=_remember, multiple=multiple, **extra))
    return options


_GLOBAL_OPTIONS = _global_options()  # made once, shared by every command: start-up stays light


def kube_flags(f: F) -> F:
    """kubectl's global connection flags, on the group and on every command, hidden from each
    page (`kubectl egress options` lists them); they record themselves (see _remember) instead
    of reaching the command function."""
    params = f.__dict__.setdefault("__click_params__", [])
    params.extend(reversed(_GLOBAL_OPTIONS))  # click reverses decorator order
    return f


def output_option(*choices: str) -> Callable[[F], F]:
    return click.option("-o", "--output", type=click.Choice(choices), default=None,
                        help=f"Output format: {', '.join(choices)}.")


def dry_run_option(f: F) -> F:
    return click.option("--dry-run", type=click.Choice(["none", "client", "server"]), default="none",
                        show_default=True,
                        help="client: print what would be sent, send nothing; server: send with "
                             "dryRun=All, persist nothing.")(f)


def all_namespaces_option(f: F) -> F:
    return click.option("-A", "--all-namespaces", is_flag=True,
                        help="Across all namespaces.")(f)


def app_of(ctx: click.Context):
    """The invocation's App (imported here: --help and usage errors never load it); kept on the
    root context for the check of --warnings-as-errors after the command."""
    from .app import App

    root = ctx.find_root()
    app = root.meta[APP] = App.from_raw(root.meta.get(FLAGS, {}))
    return app


def _options_hint(formatter: click.HelpFormatter) -> None:
    formatter.write_paragraph()
    formatter.write_text(OPTIONS_HINT)


class EgressCommand(click.Command):
    """A command whose help ends, as kubectl's do, by pointing at the global options."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        _options_hint(formatter)


class EgressGroup(click.Group):
    command_class = EgressCommand

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        _options_hint(formatter)


@click.group(cls=EgressGroup, context_settings=CONTEXT, no_args_is_help=True)
@kube_flags
def cli() -> None:
    """Give external services an in-cluster DNS name, check them from inside and
    outside an Istio mesh, and clean up exactly what was made.

    \b
    Examples:
      kubectl egress externalname my-httpbin httpbin.org
      kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host en.wikipedia.org
      kubectl egress serviceentry my-site site.example --tls-origination
      kubectl egress get
      kubectl egress clean my-httpbin
    """


def origination_options(f: F) -> F:
    """--tls-origination and its companions, shared by externalname and serviceentry."""
    options = [
        click.option("--tls-origination", is_flag=True,
                     help="The app speaks plain HTTP on --port; the sidecar opens TLS to the host's "
                          "--target-port and verifies its certificate (system CA bundle)."),
        click.option("--target-port", default="443", show_default=True, metavar="PORT",
                     help="With --tls-origination: the port the sidecar connects to with TLS."),
        click.option("--insecure-skip-verify", is_flag=True,
                     help="With --tls-origination: accept any certificate. Anyone who can intercept the "
                          "connection can then read and change it (istioctl reports IST0129)."),
    ]
    for option in reversed(options):
        f = option(f)  # type: ignore[operator]
    return f


@cli.result_callback()
@click.pass_context
def _after(ctx: click.Context, result: Any) -> Any:
    """kubectl's --warnings-as-errors (kubectl pkg/cmd/cmd.go PersistentPostRunE): once a command
    has succeeded, the server warnings it printed make it fail."""
    app = ctx.find_root().meta.get(APP)
    count = app.warning_count() if app is not None and app.warnings_as_errors else 0
    if count:
        raise EgressError(f"{count} warning{'s' if count > 1 else ''} received")
    return result


@cli.command("externalname", context_settings=CONTEXT)
@click.argument("name", shell_complete=completion.owned_names)
@click.argument("host")
@click.option("--port", default="80", show_default=True, help="Port clients use.")
@click.option("--protocol", default="http", show_default=True,
              help="Istio protocol, which names the port: http, https, tls, tcp, grpc, http2.")
@click.option("--tls-mode", default=None,
              help="DestinationRule TLS mode: DISABLE (the default), SIMPLE, ISTIO_MUTUAL, or none for no "
                   "DestinationRule.")
@origination_options
@click.option("--istio-mode", default="auto", show_default=True, metavar="MODE",
              help="auto (from istiod), legacy (Istio <= 1.20), alias (1.21+) or none (no Istio objects).")
@click.option("--waypoint", metavar="[NS/]NAME", default=None,
              help="Ambient mode: route HOST through this egress waypoint (its ServiceEntry goes in the "
                   "waypoint's namespace, labelled istio.io/use-waypoint).")
@click.option("--force", is_flag=True, help="Take over objects of the same name not made by kubectl-egress.")
@output_option("yaml", "json", "name")
@dry_run_option
@kube_flags
@click.pass_context
def externalname_command(ctx: click.Context, **kw: Any) -> int:
    """Make HOST reachable as NAME.NAMESPACE.svc.cluster.local (recipe 1).

    Creates a Service of type ExternalName whose port is named after its
    protocol, and, where Istio runs, a DestinationRule that turns Istio mutual
    TLS off for it: on NAME.NAMESPACE.svc.cluster.local up to Istio 1.20; from
    1.21, where the Service is only a DNS alias, on HOST, with a ServiceEntry
    for it. With --tls-origination, the app calls
    http://NAME.NAMESPACE.svc.cluster.local and the sidecar speaks TLS to
    HOST:443 (up to Istio 1.20 through a VirtualService to HOST's
    ServiceEntry); callers without a sidecar still reach HOST:80 in plain HTTP.
    Running it again is safe; changed flags update the objects.

    \b
    Examples:
      kubectl egress externalname my-httpbin httpbin.org
      kubectl egress externalname my-api api.example.com --port 443 --protocol https
      kubectl egress externalname my-site site.example --tls-origination
      kubectl egress externalname my-httpbin httpbin.org --waypoint istio-egress/waypoint
    """
    from .commands import externalname as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("endpoints", context_settings=CONTEXT)
@click.argument("name", shell_complete=completion.owned_names)
@click.argument("ips", nargs=-1, required=True, metavar="IP [IP...]")
@click.option("--port", default=None, help="Port of the external service (required).")
@click.option("--protocol", default="tls", show_default=True,
              help="Istio protocol, which names the port: http, https, tls, tcp, grpc, http2.")
@click.option("--host", default="", help="Host name clients use (recorded for the probe).")
@click.option("--tls-mode", default="DISABLE", show_default=True,
              help="DestinationRule TLS mode: DISABLE, SIMPLE, ISTIO_MUTUAL, or none.")
@click.option("--api", default="endpointslice", show_default=True,
              help="endpointslice (discovery.k8s.io/v1) or endpoints (v1, deprecated in 1.33).")
@click.option("--istio-mode", default="auto", show_default=True, metavar="MODE",
              help="auto (from istiod), legacy (Istio <= 1.20), alias (1.21+) or none (no Istio objects).")
@click.option("--force", is_flag=True, help="Take over objects of the same name not made by kubectl-egress.")
@output_option("yaml", "json", "name")
@dry_run_option
@kube_flags
@click.pass_context
def endpoints_command(ctx: click.Context, **kw: Any) -> int:
    """Give external IPs a cluster IP and the name NAME.NAMESPACE.svc.cluster.local (recipe 2).

    Creates a selector-less Service, its endpoints, and, where Istio runs, a
    DestinationRule that turns Istio mutual TLS off. IPv4 and IPv6.

    \b
    Examples:
      kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host en.wikipedia.org
      kubectl egress endpoints my-db 203.0.113.7 --port 5432 --protocol tcp --api endpoints
    """
    from .commands import endpoints as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("serviceentry", context_settings=CONTEXT)
@click.argument("name", shell_complete=completion.owned_names)
@click.argument("hosts", nargs=-1, required=True, metavar="HOST [HOST...]")
@click.option("--port", default="80", show_default=True, help="Port the app calls.")
@click.option("--protocol", default="http", show_default=True,
              help="What the app speaks on --port: http, https, tls, tcp, grpc, http2.")
@click.option("--resolution", default="DNS", show_default=True,
              help="DNS (look the hosts up), STATIC (--endpoints IPs) or NONE (the address the app called).")
@click.option("--addresses", multiple=True, metavar="IP[,IP...]",
              help="Virtual IPs or CIDR blocks (CIDRs with NONE or STATIC) the sidecar captures, for tcp ports.")
@click.option("--endpoints", multiple=True, metavar="ADDR[,ADDR...]",
              help="Where to send the traffic: IPs (STATIC) or IPs and names (DNS).")
@click.option("--location", default="MESH_EXTERNAL", show_default=True,
              help="MESH_EXTERNAL (outside the mesh) or MESH_INTERNAL.")
@click.option("--export-to", multiple=True, metavar="NS[,NS...]",
              help='Namespaces that see the entry: "." (this one), "*" (all, the default) or names.')
@origination_options
@click.option("--force", is_flag=True, help="Take over objects of the same name not made by kubectl-egress.")
@output_option("yaml", "json", "name")
@dry_run_option
@kube_flags
@click.pass_context
def serviceentry_command(ctx: click.Context, **kw: Any) -> int:
    """Make external HOSTs known to the Istio mesh with a ServiceEntry.

    Istio's "Accessing External Services": a ServiceEntry (MESH_EXTERNAL,
    resolution DNS) so that callers with a sidecar reach HOST as a mesh
    service, with Istio's telemetry and rules, as REGISTRY_ONLY meshes
    require. With --tls-origination, Istio's "Egress TLS Origination": the app
    calls http://HOST/ and the sidecar speaks TLS to HOST:443, verifying its
    certificate against the system CA bundle. Each flag is checked by Istio's
    own validation rules before anything is sent. One ServiceEntry per host:
    `externalname` aliases in this namespace use this one.

    \b
    Examples:
      kubectl egress serviceentry my-httpbin httpbin.org
      kubectl egress serviceentry my-site site.example --tls-origination
      kubectl egress serviceentry my-db db.example.com --port 5432 --protocol tcp --addresses 203.0.113.7
    """
    from .commands import serviceentry as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("get", context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[NAME...]", shell_complete=completion.service_names)
@all_namespaces_option
@click.option("-l", "--selector", metavar="SELECTOR",
              help="Only Services with these labels, as kubectl's -l (app=web, 'env in (a,b)', !canary).")
@output_option("wide", "yaml", "json", "name")
@kube_flags
@click.pass_context
def get_command(ctx: click.Context, **kw: Any) -> int:
    """List the egress services, whoever made them (read-only).

    An egress service is a Service of type ExternalName or one without a
    selector (default/kubernetes aside), with its endpoints, the
    DestinationRule Istio applies to it and, from Istio 1.21, its
    ServiceEntry. MANAGED-BY shows its app.kubernetes.io/managed-by label:
    kubectl-egress for what this plugin made, helm, argocd, ... or <none>.

    \b
    Examples:
      kubectl egress get
      kubectl egress get -A -o wide
      kubectl egress get -l app.kubernetes.io/managed-by=helm
      kubectl egress get my-httpbin -o yaml
    """
    from .commands import get as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("clean", context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[NAME...]", shell_complete=completion.owned_names)
@all_namespaces_option
@dry_run_option
@kube_flags
@click.pass_context
def clean_command(ctx: click.Context, **kw: Any) -> int:
    """Delete what kubectl-egress made (all of it, or NAMEs), and nothing else.

    \b
    Examples:
      kubectl egress clean my-httpbin
      kubectl egress clean -A
    """
    from .commands import clean as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("probe", context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[NAME...]", shell_complete=completion.service_names)
@all_namespaces_option
@click.option("-l", "--selector", metavar="SELECTOR",
              help="Only Services with these labels, as kubectl's -l (app=web, 'env in (a,b)', !canary).")
@click.option("--without-istio", is_flag=True,
              help="Probe from the pod without sidecar (namespace without-istio) instead.")
@click.option("--all-sources", is_flag=True, help="Probe from both sources, side by side.")
@click.option("--from", "from_pod", metavar="POD|TYPE/NAME",
              help="Probe from this pod, or a ready pod of this workload (deploy/NAME, sts/NAME, ds/NAME, "
                   "rs/NAME, rc/NAME, job/NAME, svc/NAME), instead of the curl sample with a sidecar; with -A, "
                   "for the namespaces that have no sample of their own.")
@click.option("--from-namespace", metavar="NS", help="Namespace of --from (default: the services', -n; with -A, "
                                                     "required).")
@click.option("-c", "--container", metavar="NAME",
              help="Container of the --from pods to probe from (default: the default-container annotation, "
                   "else the first that is not istio-proxy).")
@click.option("--all-pods", is_flag=True, help="Probe from every ready pod of the --from workload.")
@click.option("--ephemeral", is_flag=True,
              help="Always probe from the plugin's ephemeral container (added when a container has no sh "
                   "or curl).")
@click.option("--image", metavar="IMAGE",
              help="The curl image of the plugin's own probe containers: the sources --deploy-sources makes "
                   "and the ephemeral one, for mirrors (default: curlimages/curl:8.11.1, pinned by digest).")
@click.option("--source-namespace", default="without-istio", show_default=True, metavar="NS",
              help="Namespace of the source without sidecar.")
@click.option("--path", default=None, help="Path for HTTP services (default /headers; / where the sidecar "
                                          "originates TLS, since the site is not an echo).")
@click.option("--timeout", default="10s", show_default=True, metavar="DURATION", help="Per curl.")
@click.option("--parallel", default=8, show_default=True, type=int, metavar="N",
              help="Curls at once in each source pod (1: one by one).")
@click.option("--max-execs", default=16, show_default=True, type=int, metavar="N",
              help="Source pods probed at once across the cluster (one exec each).")
@click.option("--host", "hosts", multiple=True, metavar="NAME=HOST",
              help="The host name clients use for egress service NAME's TLS port, when the cluster "
                   "does not say (repeatable).")
@click.option("--deploy-sources", is_flag=True,
              help="Create the curl sample with and without sidecar where missing, and wait for it.")
@click.option("--junit-file", metavar="PATH", help="Also write a JUnit XML report: a test case per service "
                                                   "port and source, the hint as a failure's message.")
@click.option("--summary", is_flag=True, help="Print the counts by result and by hint instead of the rows.")
@click.option("--istio-mode", default="auto", show_default=True, metavar="MODE",
              help="auto (from istiod), legacy (Istio <= 1.20), alias (1.21+) or none (no Istio objects).")
@output_option("wide", "json", "yaml")
@kube_flags
@click.pass_context
def probe_command(ctx: click.Context, **kw: Any) -> int:
    """Check the egress services from inside and outside the mesh, and say why when they fail.

    Every egress service of the namespace (-A: of the cluster; or NAMEs, or
    those -l selects), whoever made it, each port. One exec per source pod runs
    every check, up to --max-execs pods at once; Ctrl-C stops them, prints the
    rows so far and exits 130. Exits 1 when any check fails.

    Sources: the curl or sleep sample (app=curl, app=sleep) of the services'
    namespace, with a sidecar, and the curl sample of namespace without-istio,
    without; with -A, each namespace's own sample, or --from where it has none.
    --deploy-sources makes a missing sample (pinned image, Pod Security
    "restricted"). --from probes from your own workload's pod; where its
    container has no sh or curl, or runs as the proxy's UID 1337, the probe
    runs in an ephemeral container the plugin adds to the pod, which stays
    until the pod is replaced and is reused by later probes.

    A TLS port is fetched at its host name: the ExternalName's target, --host
    NAME=HOST, the one `endpoints --host` recorded, a DestinationRule's
    tls.sni or its ServiceEntry's host; with none, only the TLS handshake is
    checked, and the row says so.

    Output: the SIDECAR column says whether the sidecar's (or ztunnel's)
    evidence was seen; below the table each failing or suspicious row says why,
    with the fixing command on a line of its own (-o wide: a HINT column). -o
    json keeps what varies between runs under "observed", so runs can be
    diffed; --junit-file writes a report CI reads; --summary counts by result
    and hint. Writes nothing but its own labelled sources, the ephemeral probe
    container and the --junit-file.

    \b
    Examples:
      kubectl egress probe
      kubectl egress probe --without-istio
      kubectl egress probe --deploy-sources --all-sources -o wide
      kubectl egress probe my-wikipedia --host my-wikipedia=en.wikipedia.org
      kubectl egress probe --from deploy/web --from-namespace shop
      kubectl egress probe --from sts/db --from-namespace data --all-pods -o json
      kubectl egress probe -A --deploy-sources --all-sources --junit-file probe.xml
      kubectl egress probe -A -l app.kubernetes.io/managed-by=helm --summary
    """
    from .commands import probe as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("check", context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[NAME...]", shell_complete=completion.service_names)
@all_namespaces_option
@click.option("--fail-on", default="warning", show_default=True, metavar="SEVERITY",
              help="Exit 1 when a finding is at or above this: info, warning or error.")
@click.option("--istio-mode", default="auto", show_default=True, metavar="MODE",
              help="auto (from istiod), legacy (Istio <= 1.20), alias (1.21+) or none.")
@output_option("json", "yaml")
@kube_flags
@click.pass_context
def check_command(ctx: click.Context, **kw: Any) -> int:
    """Find what is wrong with the egress services (managed or not), and the fix.

    ExternalName Services and Services without a selector are checked for port
    names Istio cannot read (IST0150, IST0118, as istioctl analyze reports
    them, and kubectl create's 80-80), endpoints whose port names are not the
    Service's, Endpoints mirrored next to a hand-made EndpointSlice, an
    ExternalName that is an IP, a DestinationRule the running Istio ignores,
    Istio mutual TLS sent to an external host, and DestinationRules that
    originate TLS without checking the certificate (IST0128, IST0129) or in
    front of callers that already speak TLS (double TLS). Istio's system
    namespaces (kube-system, kube-public, kube-node-lease, local-path-storage)
    are skipped, as istioctl analyze skips them. Each finding is a line as
    istioctl analyze prints it, then the fixing command on a line of its own.
    Exits 1 when a finding is at or
    above --fail-on.

    \b
    Examples:
      kubectl egress check
      kubectl egress check -A --fail-on error
      kubectl egress check my-httpbin -o json
    """
    from .commands import check as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("version", context_settings=CONTEXT)
@click.option("--client", is_flag=True, help="The plugin's version only (no server contact).")
@output_option("yaml", "json")
@kube_flags
@click.pass_context
def version_command(ctx: click.Context, **kw: Any) -> int:
    """Print the plugin's version and the server's."""
    from .commands import version as command  # loaded only when run: start-up stays light

    return command.run(app_of(ctx), command.Options(**kw))


@cli.command("options", context_settings=CONTEXT)
@kube_flags
def options_command() -> int:
    """Print the global command-line options, which every command accepts, before or after its
    name (as `kubectl options` does).

    \b
    Examples:
      kubectl egress options
      kubectl egress get --as reader --as-group devs
    """
    lines = ["The following options can be passed to any command:", ""]
    for names, _, text, is_flag, multiple in GLOBAL_FLAGS:
        default = ("false" if is_flag else "[]" if multiple else "0" if names[-1] == "--v"
                   else "'0'" if names[-1] == "--request-timeout" else "''")
        lines += [f"    {', '.join(names)}={default}:", f"\t{text}", ""]
    click.echo("\n".join(lines).rstrip("\n"))
    return 0


@cli.command("completion", context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> int:
    """Print the completion script of a shell for kubectl-egress.

    For `kubectl egress <TAB>` (kubectl 1.26+), put the helper
    kubectl_complete-egress on PATH: pip installs it; for the binary, link it:
    ln -s "$(command -v kubectl-egress)" ~/.local/bin/kubectl_complete-egress

    \b
    Examples:
      source <(kubectl egress completion bash)
      kubectl egress completion zsh > "${fpath[1]}/_kubectl-egress"
      kubectl egress completion fish > ~/.config/fish/completions/kubectl-egress.fish
    """
    click.echo(completion.script(cli, shell), nl=False)
    return 0


@cli.command("__complete", hidden=True, context_settings={"ignore_unknown_options": True,
                                                          "help_option_names": []})
@click.argument("words", nargs=-1, type=click.UNPROCESSED)
def complete_command(words: tuple[str, ...]) -> int:
    """kubectl's plugin completion protocol (what kubectl_complete-egress prints)."""
    click.echo(completion.helper_output(cli, list(words)), nl=False)
    return 0


def complete_main() -> None:
    """The kubectl_complete-egress helper: candidates for the words kubectl passes."""
    sys.stdout.write(completion.helper_output(cli, sys.argv[1:]))
    sys.exit(0)


def _wants_traceback(argv: list[str]) -> bool:
    for i, arg in enumerate(argv):
        if arg in ("-v", "--v") and i + 1 < len(argv):
            arg = f"-v{argv[i + 1]}"
        for prefix in ("--v=", "-v=", "--v", "-v"):
            if arg.startswith(prefix) and arg[len(prefix):].isdigit():
                return int(arg[len(prefix):]) >= 1
    return False


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if argv is None and os.path.basename(sys.argv[0]) == completion.HELPER:
        complete_main()  # the binary linked as kubectl_complete-egress
    try:
        code = cli.main(args=args, prog_name="kubectl egress", standalone_mode=False,
                        complete_var=completion.COMPLETE_VAR)
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help())
        code = 0
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "kubectl egress"
        message = err.format_message().rstrip(".")
        sys.stderr.write(f"error: {message}; see '{where} --help'\n")
        code = 2
    except click.ClickException as err:
        sys.stderr.write(f"error: {err.format_message()}\n")
        code = err.exit_code
    except EgressError as err:
        if _wants_traceback(args):
            import traceback
            traceback.print_exc()
        sys.stderr.write(err.line() + "\n")
        code = err.exit_code
    except (click.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as err:  # a bug: one line, the traceback on request
        if _wants_traceback(args):
            import traceback
            traceback.print_exc()
        sys.stderr.write(f"error: unexpected {type(err).__name__}: {err} (rerun with -v=1 for "
                         "the traceback)\n")
        code = 1
    sys.stdout.flush()
    code = code if isinstance(code, int) else 0
    if argv is None:
        end_process(code)
    sys.exit(code)


def end_process(code: int) -> None:
    """End the process as sys.exit would, without tearing the interpreter down first: the atexit
    functions run (temporary certificate files are removed there) and the standard streams are
    flushed, then os._exit. The teardown frees every object and module one by one (some 6% of a
    `get`'s instructions) for memory the kernel takes back at once. Only for the process's own
    run (main() without argv): in-process callers keep sys.exit."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = 120 if stream is sys.stdout and code == 0 else code  # as CPython's Py_FinalizeEx
    os._exit(code)


__all__ = ["cli", "main", "__version__"]
