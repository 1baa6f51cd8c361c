"""Gateway API TLS: plain-HTTP listeners settled against the routes that attach to them; certificates."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gates.model import Outcome
from tests.support.rule_cases import expect_findings, gate_report

_GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: example
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    hostname: "*.example.com"
  - name: https
    protocol: HTTPS
    port: 443
    tls:
      certificateRefs: [{name: cert}]
"""

_REDIRECT = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirect, namespace: shop}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  hostnames: [shop.example.com]
  rules:
  - filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301}
"""

_APP = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: shop}
spec:
  parentRefs: [{name: gw%s}]
  hostnames: [shop.example.com]
  rules:
  - backendRefs: [{name: app, port: 8080}]
"""


def _text(*documents: str) -> str:
    return "---\n".join(textwrap.dedent(d).strip() + "\n" for d in documents)


def test_an_http_listener_without_routes_is_found(tmp_path: Path) -> None:
    expect_findings(tmp_path, _GATEWAY, ("k8s-gateway-plain-http", "Gateway/shop/gw", "8:5"))


def test_an_https_redirect_covers_it(tmp_path: Path) -> None:
    report = gate_report(tmp_path, _text(_GATEWAY, _REDIRECT, _APP % ", sectionName: https"))
    gateway = next(r for r in report.results if r.target.endswith("#Gateway/shop/gw"))
    assert gateway.outcome is Outcome.PASSED
    assert gateway.details == ("Gateway gw listener http: plain HTTP only redirects to https (shop.example.com), by"
                               " HTTPRoute/shop/redirect",)


def test_a_route_served_in_plain_http_is_named(tmp_path: Path) -> None:
    report = gate_report(tmp_path, _text(_GATEWAY, _REDIRECT, _APP % ""))  # no sectionName: both listeners
    gateway = next(r for r in report.results if r.target.endswith("#Gateway/shop/gw"))
    [finding] = gateway.findings
    assert finding.rule == "k8s-gateway-plain-http" and finding.location is not None and finding.location.line == 8
    assert finding.message.startswith("Gateway gw listener http serves 1 route in plain HTTP (HTTPRoute/shop/app)")
    assert finding.message.endswith("(spec.listeners[0].protocol)")


@pytest.mark.parametrize("change", [("namespace: shop}", "namespace: other}"),   # another namespace's route
                                    ("sectionName: http", "sectionName: https"),   # another listener
                                    ("[shop.example.com]", "[shop.example.org]")])  # no hostname in common
def test_a_redirect_that_does_not_attach_covers_nothing(tmp_path: Path, change: tuple[str, str]) -> None:
    redirect = _REDIRECT.replace(*change)
    report = gate_report(tmp_path, _text(_GATEWAY, redirect))
    gateway = next(r for r in report.results if r.target.endswith("#Gateway/shop/gw"))
    [finding] = gateway.findings
    assert "no HTTPRoute in this scan redirects it to https" in finding.message


def test_a_redirect_to_http_is_not_a_redirect_to_https(tmp_path: Path) -> None:
    report = gate_report(tmp_path, _text(_GATEWAY, _REDIRECT.replace("scheme: https", "scheme: http")))
    gateway = next(r for r in report.results if r.target.endswith("#Gateway/shop/gw"))
    assert [f.rule for f in gateway.findings] == ["k8s-gateway-plain-http"]


@pytest.mark.parametrize(("listener", "expected"), [
    ("protocol: HTTPS\n    port: 443", "8:5"),
    ("protocol: TLS\n    port: 443\n    tls: {mode: Terminate}", "10:5"),
    ("protocol: TLS\n    port: 443\n    tls: {mode: Passthrough}", None),
    ("protocol: HTTPS\n    port: 443\n    tls: {certificateRefs: [{name: c}]}", None),
])
def test_tls_listeners_need_a_certificate(tmp_path: Path, listener: str, expected: str | None) -> None:
    text = f"""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {{name: gw, namespace: shop}}
        spec:
          gatewayClassName: example
          listeners:
          - name: secure
            {listener.replace(chr(10) + '    ', chr(10) + '            ')}
    """
    found = [("k8s-gateway-tls-certificate", "Gateway/shop/gw", expected)] if expected else []
    expect_findings(tmp_path, text, *found)


def test_gateway_kinds_gates_does_not_know_are_said(tmp_path: Path) -> None:
    report = gate_report(tmp_path, _text(_GATEWAY.replace("kind: Gateway", "kind: MeshGateway"), """
        apiVersion: gateway.networking.k8s.io/v1
        kind: ReferenceGrant
        metadata: {name: r, namespace: shop}
        spec: {from: [], to: []}
    """))
    results = {r.target.split("#")[-1]: r for r in report.results}
    assert "ReferenceGrant/shop/r" not in results  # nothing to judge, as a ConfigMap
    said = results["MeshGateway/shop/gw"]
    assert said.outcome is Outcome.SKIPPED and said.error is not None
    assert said.error.startswith("gateway.networking.k8s.io/v1 MeshGateway is not a Gateway API kind gates judges")


@pytest.mark.parametrize(("api_version", "kind", "said"), [
    ("networking.istio.io/v1", "Gateway", "is not a Gateway API object (gateway.networking.k8s.io): not read"),
    ("example.com/v1", "Service", None),  # not a core Service: no concern of these checks, and no result
])
def test_namesakes_of_other_groups_never_pass_unread(tmp_path: Path, api_version: str, kind: str,
                                                     said: str | None) -> None:
    report = gate_report(tmp_path, _text(f"""
        apiVersion: {api_version}
        kind: {kind}
        metadata: {{name: n, namespace: shop}}
        spec: {{servers: [{{port: {{number: 80, protocol: HTTP}}}}], externalIPs: [1.2.3.4]}}
    """, _GATEWAY))
    results = {r.target.split("#")[-1]: r for r in report.results}
    if said is None:
        assert f"{kind}/shop/n" not in results
    else:
        result = results[f"{kind}/shop/n"]
        assert result.outcome is Outcome.SKIPPED and result.error is not None and result.error.endswith(said)


def test_listener_sets_are_judged_as_gateways(tmp_path: Path) -> None:
    listener_set = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: ListenerSet
        metadata: {name: team, namespace: shop}
        spec:
          parentRef: {name: gw}
          listeners:
          - {name: plain, protocol: HTTP, port: 8080}
          - {name: secure, protocol: HTTPS, port: 8443}
    """
    redirect = _REDIRECT.replace("{name: gw, sectionName: http}", "{kind: ListenerSet, name: team, sectionName: plain}")
    report = gate_report(tmp_path, _text(listener_set, redirect))
    [result] = [r for r in report.results if r.target.endswith("#ListenerSet/shop/team")]
    assert [(f.rule, f.location.line if f.location else 0) for f in result.findings] == [
        ("k8s-gateway-tls-certificate", 8)]
    assert result.details == ("ListenerSet team listener plain: plain HTTP only redirects to https"
                              " (shop.example.com), by HTTPRoute/shop/redirect",)
