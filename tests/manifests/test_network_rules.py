"""Network exposure: default deny per direction (Kubernetes, Calico, Cilium), Services, ingress-nginx snippets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gates.checks.manifests.calico import SelectorError, parse
from gates.model import Outcome
from tests.support.rule_cases import expect_findings, gate_report

_WORKLOAD = """
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: registry.example/app:1.0@sha256:%s
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
""" % ("ab" * 32)

_REQUIRE = "[manifests]\nrequire-network-policy = true\n"


def _coverage(tmp_path: Path, *policies: str) -> str | None:
    """The k8s-network-policy message on the workload, with every policy in the same file (None: covered)."""
    text = "---\n".join(textwrap.dedent(d).strip() + "\n" for d in (_WORKLOAD, *policies))
    report = gate_report(tmp_path, text, config=_REQUIRE)
    [pod] = [r for r in report.results if r.target.endswith("#Pod/shop/web")]
    messages = [f.message for f in pod.findings if f.rule == "k8s-network-policy"]
    return messages[0] if messages else None


def _k8s(spec: str, name: str = "p") -> str:
    return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\n"
            f"spec:\n{textwrap.indent(textwrap.dedent(spec).strip(), '  ')}\n")


DEFAULT_DENY = _k8s("podSelector: {}\npolicyTypes: [Ingress, Egress]")


def test_a_namespace_default_deny_covers_both_directions(tmp_path: Path) -> None:
    assert _coverage(tmp_path, DEFAULT_DENY) is None


def test_ingress_only_leaves_egress_open_and_says_so(tmp_path: Path) -> None:
    message = _coverage(tmp_path, _k8s("podSelector: {}"))  # policyTypes default to Ingress
    assert message == ("the pods of Pod/shop/web (namespace shop): egress not isolated (no policy puts them in"
                       " default deny for egress)")


def test_no_policy_leaves_both_open(tmp_path: Path) -> None:
    message = _coverage(tmp_path)
    assert message is not None and "ingress not isolated" in message and "egress not isolated" in message


def test_egress_rules_make_egress_a_policy_type(tmp_path: Path) -> None:
    policy = _k8s("podSelector: {}\ningress: [{from: [{podSelector: {}}]}]\negress: [{ports: [{port: 53}]}]")
    assert _coverage(tmp_path, policy) is None


@pytest.mark.parametrize(("rules", "direction"), [
    ("ingress: [{}]", "ingress allowed from anywhere"),
    ("egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]", "egress allowed to anywhere"),
])
def test_an_allow_all_policy_is_not_coverage(tmp_path: Path, rules: str, direction: str) -> None:
    opened = _k8s(f"podSelector: {{}}\npolicyTypes: [Ingress, Egress]\n{rules}", name="open")
    message = _coverage(tmp_path, DEFAULT_DENY, opened)
    assert message == (f"the pods of Pod/shop/web (namespace shop): {direction} by NetworkPolicy/shop/open (an"
                       " allow-all policy is not coverage)")


def test_ports_or_peers_restrict_and_so_cover(tmp_path: Path) -> None:
    restricted = _k8s("podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress, Egress]\n"
                      "ingress: [{ports: [{port: 443}]}]\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]")
    assert _coverage(tmp_path, restricted) is None


def test_a_policy_of_another_namespace_or_selector_does_not_cover(tmp_path: Path) -> None:
    other = DEFAULT_DENY.replace("namespace: shop", "namespace: bank")
    unselected = _k8s("podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress, Egress]")
    assert _coverage(tmp_path, other, unselected) is not None


_CALICO = """
apiVersion: projectcalico.org/v3
kind: {kind}
metadata: {{name: c{namespace}}}
spec:
{spec}
"""


def _calico(spec: str, kind: str = "NetworkPolicy") -> str:
    namespace = ", namespace: shop" if kind == "NetworkPolicy" else ""
    return _CALICO.format(kind=kind, namespace=namespace, spec=textwrap.indent(textwrap.dedent(spec).strip(), "  "))


@pytest.mark.parametrize("selector", ["all()", "app == 'web'", "tier in {'front', 'back'}", "has(app) && !has(x)",
                                      "app != 'db'", "app starts with 'w' || app == 'x'", "(tier contains 'ro')",
                                      "tier not in {'back'}", "projectcalico.org/namespace == 'shop'", ""])
def test_calico_selectors_that_select_the_pod_cover_it(tmp_path: Path, selector: str) -> None:
    spec = f'selector: "{selector}"\ntypes: [Ingress, Egress]'
    assert _coverage(tmp_path, _calico(spec)) is None


@pytest.mark.parametrize("selector", ["app == 'db'", "!all()", "has(x)", "app ends with 'b' && tier == 'back'",
                                      "global()"])
def test_calico_selectors_that_miss_the_pod_do_not(tmp_path: Path, selector: str) -> None:
    spec = f'selector: "{selector}"\ntypes: [Ingress, Egress]'
    assert _coverage(tmp_path, _calico(spec)) is not None


def test_calico_rules_run_in_order(tmp_path: Path) -> None:
    allow_all = _calico("types: [Ingress, Egress]\ningress: [{action: Allow}]\negress: [{action: Deny}]")
    message = _coverage(tmp_path, allow_all)
    assert message is not None and message.endswith("ingress allowed from anywhere by projectcalico.org/v3"
                                                    " NetworkPolicy/shop/c (an allow-all policy is not coverage)")
    logged = _calico("types: [Ingress, Egress]\ningress: [{action: Log}, {action: Deny}, {action: Allow}]")
    assert _coverage(tmp_path, logged) is None


def test_calico_infers_its_types_from_its_rules(tmp_path: Path) -> None:
    egress_only = _calico("egress: [{action: Allow, destination: {ports: [53]}}]")
    message = _coverage(tmp_path, egress_only)
    assert message == ("the pods of Pod/shop/web (namespace shop): ingress not isolated (no policy puts them in"
                       " default deny for ingress)")


def test_a_global_policy_covers_every_namespace_its_namespace_selector_names(tmp_path: Path) -> None:
    spec = 'namespaceSelector: "projectcalico.org/name == \'shop\'"\ntypes: [Ingress, Egress]'
    assert _coverage(tmp_path, _calico(spec, kind="GlobalNetworkPolicy")) is None
    elsewhere = spec.replace("'shop'", "'bank'")
    assert _coverage(tmp_path, _calico(elsewhere, kind="GlobalNetworkPolicy")) is not None


@pytest.mark.parametrize(("spec", "why"), [
    ('selector: "app === web"\ntypes: [Ingress]', "its selector is not one gates reads"),
    ('serviceAccountSelector: "role == \'x\'"\ntypes: [Ingress]', "it selects by service account"),
    ('selector: "projectcalico.org/serviceaccount == \'web\'"', "reads a service account's labels"),
])
def test_calico_policies_gates_cannot_judge_are_said_and_named(tmp_path: Path, spec: str, why: str) -> None:
    text = "---\n".join(textwrap.dedent(d).strip() + "\n" for d in (_WORKLOAD, _calico(spec)))
    report = gate_report(tmp_path, text, config=_REQUIRE)
    results = {r.target.split("#")[1]: r for r in report.results}
    said = results["NetworkPolicy/shop/c"]
    assert said.outcome is Outcome.SKIPPED and said.error is not None and why in said.error
    [finding] = results["Pod/shop/web"].findings
    assert finding.message.endswith("(1 network policy not judged, so not counted: projectcalico.org/v3"
                                    " NetworkPolicy/shop/c)")


def test_the_calico_selector_parser_refuses_what_it_does_not_know() -> None:
    assert parse("a == 'x' && (b in {'1','2'} || !has(c))").selects({"a": "x", "b": "2"})
    for broken in ("a == x", "a ==", "has(a", "a in {'x'", "a like 'x'", "&& a == 'x'"):
        with pytest.raises(SelectorError):
            parse(broken)


_CILIUM = """
apiVersion: cilium.io/v2
kind: {kind}
metadata: {{name: k{namespace}}}
spec:
{spec}
"""


def _cilium(spec: str, kind: str = "CiliumNetworkPolicy") -> str:
    namespace = ", namespace: shop" if kind == "CiliumNetworkPolicy" else ""
    return _CILIUM.format(kind=kind, namespace=namespace, spec=textwrap.indent(textwrap.dedent(spec).strip(), "  "))


def test_cilium_sections_put_the_pod_in_default_deny(tmp_path: Path) -> None:
    spec = "endpointSelector: {matchLabels: {'k8s:app': web}}\ningress: [{fromEndpoints: [{}]}]\negress: []"
    assert _coverage(tmp_path, _cilium(spec)) is None
    ingress_only = "endpointSelector: {}\ningress: [{fromEndpoints: [{}]}]"
    message = _coverage(tmp_path, _cilium(ingress_only))
    assert message is not None and message.endswith("egress not isolated (no policy puts them in default deny for"
                                                    " egress)")


def test_a_clusterwide_cilium_policy_selects_by_namespace_label(tmp_path: Path) -> None:
    spec = ("endpointSelector: {matchLabels: {'k8s:io.kubernetes.pod.namespace': shop}}\n"
            "ingress: [{toPorts: [{ports: [{port: '443'}]}]}]\negress: [{toEntities: [kube-apiserver]}]")
    assert _coverage(tmp_path, _cilium(spec, kind="CiliumClusterwideNetworkPolicy")) is None
    assert _coverage(tmp_path, _cilium(spec.replace(": shop}", ": bank}"), kind="CiliumClusterwideNetworkPolicy"))


@pytest.mark.parametrize(("rule", "said"), [
    ("{fromEntities: [all]}", "ingress allowed from anywhere"),
    ("{fromEntities: [world]}", "ingress allowed from anywhere"),
    ("{fromCIDRSet: [{cidr: 0.0.0.0/0}]}", "ingress allowed from anywhere"),
    ("{}", "ingress isolation not judged"),
])
def test_cilium_rules_that_let_everything_in_or_cannot_be_judged(tmp_path: Path, rule: str, said: str) -> None:
    spec = f"endpointSelector: {{}}\ningress: [{rule}]\negress: [{{toEndpoints: [{{}}]}}]"
    message = _coverage(tmp_path, _cilium(spec))
    assert message is not None and said in message and "egress" not in message


def test_a_cilium_deny_of_everything_wins_over_an_allow(tmp_path: Path) -> None:
    spec = ("endpointSelector: {}\ningress: [{fromEntities: [all]}]\ningressDeny: [{fromEntities: [all]}]\n"
            "egress: []")
    assert _coverage(tmp_path, _cilium(spec)) is None


def test_a_cilium_host_policy_covers_no_pod(tmp_path: Path) -> None:
    spec = "nodeSelector: {}\ningress: [{fromEntities: [cluster]}]\negress: []"
    assert _coverage(tmp_path, _cilium(spec, kind="CiliumClusterwideNetworkPolicy")) is not None


def test_a_cilium_selector_on_what_manifests_cannot_know_is_not_judged(tmp_path: Path) -> None:
    spec = "endpointSelector: {matchLabels: {'io.cilium.k8s.policy.serviceaccount': web}}\ningress: []\negress: []"
    text = "---\n".join(textwrap.dedent(d).strip() + "\n" for d in (_WORKLOAD, _cilium(spec)))
    report = gate_report(tmp_path, text, config=_REQUIRE)
    [said] = [r for r in report.results if "Cilium" in r.target]
    assert said.outcome is Outcome.SKIPPED and said.error is not None
    assert "reads 'io.cilium.k8s.policy.serviceaccount'" in said.error


@pytest.mark.parametrize(("api_version", "kind"), [("projectcalico.org/v3", "HostEndpoint"),
                                                   ("cilium.io/v2", "CiliumCIDRGroup")])
def test_other_kinds_of_the_policy_groups_are_said(tmp_path: Path, api_version: str, kind: str) -> None:
    report = gate_report(tmp_path, f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n---\n{_WORKLOAD}")
    [said] = [r for r in report.results if r.target.endswith(f"#{kind}/x")]
    assert said.outcome is Outcome.SKIPPED and said.error is not None and said.error.endswith("not judged")


_SERVICE = """
    apiVersion: v1
    kind: Service
    metadata: {{name: front, namespace: shop}}
    spec:
      selector: {{app: web}}
      ports: [{{port: 80}}]
      {extra}
"""


def test_external_ips(tmp_path: Path) -> None:
    expect_findings(tmp_path, _SERVICE.format(extra="externalIPs: [1.2.3.4]"),
                    ("k8s-service-external-ips", "Service/shop/front", "7:3"))


@pytest.mark.parametrize(("kind", "options", "found"), [
    ("NodePort", None, True), ("LoadBalancer", None, True), ("ClusterIP", None, False),
    ("LoadBalancer", {"exposed-service-types": '["NodePort"]'}, False),
    ("NodePort", {"exposed-service-types": "[]"}, False),
])
def test_exposure_by_type(tmp_path: Path, kind: str, options: dict[str, str] | None, found: bool) -> None:
    expected = [("k8s-service-exposed", "Service/shop/front", "7:3")] if found else []
    expect_findings(tmp_path, _SERVICE.format(extra=f"type: {kind}"), *expected, options=options)


def test_an_unknown_service_type_in_the_config_is_a_config_error(tmp_path: Path) -> None:
    from gates.errors import ConfigError

    with pytest.raises(ConfigError, match="exposed-service-types"):
        gate_report(tmp_path, _SERVICE.format(extra=""), config='[manifests]\nexposed-service-types = ["Nodeport"]\n')


def test_ingress_nginx_snippets(tmp_path: Path) -> None:
    expect_findings(tmp_path, """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: shop
          namespace: shop
          annotations:
            nginx.ingress.kubernetes.io/rewrite-target: /
            nginx.ingress.kubernetes.io/configuration-snippet: |
              more_set_headers "X: y";
        spec:
          tls: [{hosts: [shop.example.com], secretName: shop-tls}]
          rules: [{host: shop.example.com}]
    """, ("k8s-ingress-nginx-snippet", "Ingress/shop/shop", "8:5"))
