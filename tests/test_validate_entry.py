"""`serviceentry` arguments checked by Istio's own rules (kubectl_egress/validate_entry.py).

Vectors transcribed from istio pkg/config/validation/validation_test.go (TestValidateServiceEntries,
TestValidateExportTo), each case named as it is there; bad input is a one-line UsageError (exit 2)
that says what to type instead."""
import pytest

from kubectl_egress import validate_entry as rules
from kubectl_egress.commands import serviceentry
from kubectl_egress.errors import UsageError
from kubectl_egress.model import Origination


# (Istio's case, hosts, resolution, endpoints, valid)
HOST_CASES = [
    ("discovery type DNS", ["*.google.com"], "DNS", ["lon.google.com", "in.google.com"], True),
    ("discovery type DNS, IP in endpoints", ["*.google.com"], "DNS", ["1.1.1.1", "in.google.com"], True),
    ("bad hosts", ["-"], "DNS", ["in.google.com"], False),
    ("full wildcard host", ["foo.com", "*"], "DNS", ["in.google.com"], False),
    ("short name host", ["foo", "bar.com"], "DNS", ["in.google.com"], True),
    ("discovery type DNS, non-FQDN endpoint", ["*.google.com"], "DNS", ["*.lon.google.com", "in.google.com"], False),
    ("discovery type DNS, non-FQDN host", ["*.google.com"], "DNS", [], False),
    ("discovery type DNS, no endpoints", ["google.com"], "DNS", [], True),
    ("discovery type none", ["google.com"], "NONE", [], True),
    ("discovery type none, endpoints provided", ["google.com"], "NONE", ["lon.google.com"], False),
    ("discovery type static", ["google.com"], "STATIC", ["1.1.1.1", "2.2.2.2"], True),
    ("discovery type static, FQDN in endpoints", ["google.com"], "STATIC", ["google.com", "2.2.2.2"], False),
    ("discovery type static, missing endpoints", ["google.com"], "STATIC", [], True),
    # Istio warns "partial wildcard not allowed"; kubectl egress refuses it
    ("partial wildcard hosts", ["*.nytimes.com", "*washingtonpost.com"], "NONE", [], False),
]


@pytest.mark.parametrize("case, hosts, resolution, endpoints, valid", HOST_CASES, ids=[c[0] for c in HOST_CASES])
def test_hosts_and_endpoints_as_istio_validates_them(case, hosts, resolution, endpoints, valid):
    def run():
        found = rules.endpoints(endpoints, resolution)
        return rules.hosts(hosts, "x", resolution, bool(found))
    if valid:
        assert run() == tuple(h.lower() for h in hosts)
    else:
        with pytest.raises(UsageError) as err:
            run()
        assert err.value.exit_code == 2 and "\n" not in err.value.message


# (Istio's case, addresses, resolution, valid)
ADDRESS_CASES = [
    ("discovery type none, cidr addresses", ["172.1.2.16/16"], "NONE", True),
    ("discovery type static, cidr addresses with endpoints", ["172.1.2.16/16"], "STATIC", True),
    ("discovery type DNS, IP address set", ["10.10.10.10"], "DNS", True),
    ("CIDR addresses are allowed only for NONE/STATIC resolution types", ["10.0.0.0/8"], "DNS", False),
    ("not an IP", ["10.0.0"], "NONE", False),
]


@pytest.mark.parametrize("case, addresses, resolution, valid", ADDRESS_CASES, ids=[c[0] for c in ADDRESS_CASES])
def test_addresses(case, addresses, resolution, valid):
    if valid:
        assert rules.addresses(addresses, resolution) == tuple(addresses)
    else:
        with pytest.raises(UsageError):
            rules.addresses(addresses, resolution)


# TestValidateExportTo, for a ServiceEntry in namespace ns5
EXPORT_CASES = [
    ("empty exportTo is okay", [], True),
    ("* is allowed", ["*"], True),
    (". and ns1 are allowed", [".", "ns1"], True),
    ("bunch of namespaces in exportTo is okay", ["ns1", "ns2", "ns5"], True),
    ("~ is allowed for service entry configs", ["~"], True),
    (". and * together are not allowed", [".", "*"], False),
    ("* and ns1 together are not allowed", ["*", "ns1"], False),
    (". and same namespace in exportTo is not okay", [".", "ns5"], False),
    ("duplicate namespaces in exportTo is not okay", ["ns1", "ns2", "ns1"], False),
    ("duplicate none in service entry exportTo is not okay", ["~", "~", "ns1"], False),
    ("invalid namespace names are not okay", ["ns1_"], False),
    ("none and other namespaces cannot be combined in service entry exportTo", ["~", "ns1"], False),
]


@pytest.mark.parametrize("case, values, valid", EXPORT_CASES, ids=[c[0] for c in EXPORT_CASES])
def test_export_to(case, values, valid):
    if valid:
        assert rules.export_to(values, "ns5") == tuple(values)
    else:
        with pytest.raises(UsageError):
            rules.export_to(values, "ns5")


@pytest.mark.parametrize("text, fragment", [
    ("https://httpbin.org/get", '"kubectl egress serviceentry x httpbin.org --port 443 --protocol https"'),
    ("httpbin.org:8080", 'use HOST "httpbin.org" with --port 8080'),
    ("203.0.113.7", "give the IP with --addresses 203.0.113.7"),
    ("1.2.3", "cannot be all-numeric"),
    ("*", 'HOST "*" is not allowed'),
    ("a" * 64 + ".com", "is not valid"),
])
def test_bad_hosts_say_what_to_type(text, fragment):
    with pytest.raises(UsageError) as err:
        rules.host(text, "x")
    assert fragment in err.value.message


@pytest.mark.parametrize("args, fragment", [
    (dict(hosts=("a.example", "b.example"), protocol="tcp", res="DNS"), "multiple hosts provided with non-HTTP"),
    (dict(protocol="https", origination=Origination()), "'wrong version number' (istio#36377)"),
    (dict(hosts=("a.example", "b.example"), origination=Origination()), "needs exactly one HOST"),
    (dict(res="NONE", origination=Origination()), "needs --resolution DNS or STATIC"),
])
def test_flags_that_do_not_go_together(args, fragment):
    call = dict(name="x", hosts_=("a.example",), protocol="http", res="DNS", addrs=(), origination=None, port=80)
    call.update({("hosts_" if k == "hosts" else k): v for k, v in args.items()})
    with pytest.raises(UsageError) as err:
        rules.shape(**call)
    assert fragment in err.value.message


def test_istio_warnings_are_returned_not_refused():
    warnings = rules.shape("x", ("db.example",), "tcp", "DNS", (), None, 5432)
    assert len(warnings) == 1 and "IST0134" in warnings[0]
    warned = rules.shape("x", ("httpbin.org", "wikipedia.org"), "https", "DNS", ("10.10.10.10",), None, 443)
    assert warned == ["Warning: Istio: service entry can not have more than one host specified simultaneously "
                      "with address and tcp port"]


def test_options_become_an_entry():
    entry, warnings = serviceentry.validate(serviceentry.Options(
        "my-db", ("DB.example.com",), port="5432", protocol="tcp", resolution="static",
        addresses=("203.0.113.7",), endpoints=("203.0.113.7,203.0.113.8",)))
    assert (entry.hosts, entry.port, entry.resolution, entry.endpoints) == \
        (("db.example.com",), 5432, "STATIC", ("203.0.113.7", "203.0.113.8"))
    assert warnings == []
    entry, _ = serviceentry.validate(serviceentry.Options("my-site", ("site.example",), tls_origination=True,
                                                          insecure_skip_verify=True, target_port="8443"))
    assert entry.origination == Origination(target_port=8443, verify="skip")
    with pytest.raises(UsageError, match="only applies with --tls-origination"):
        serviceentry.validate(serviceentry.Options("x", ("a.example",), insecure_skip_verify=True))
