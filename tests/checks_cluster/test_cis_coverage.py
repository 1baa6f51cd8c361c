"""Which CIS Kubernetes Benchmark v1.12 controls the gate's rules cite, against kube-bench's cis-1.12
control files (needs the corpus): every control kube-bench checks through a component flag or the
encryption provider is cited by a rule or left out here with its reason, and every cited id exists."""

from __future__ import annotations

import json
from typing import Any

from gates.checks.cluster.rules import RULES
from tests.conftest import require_corpus

LEFT_OUT = {
    "1.2.3": "DenyServiceExternalIPs: a manual control, a choice of admission plugin",
    "1.2.9": "EventRateLimit: a manual control; the plugin needs its own configuration file",
    "1.2.11": "AlwaysPullImages: a manual control",
    "1.2.30": "--service-account-extend-token-expiration: defaults to true for token migration; not in issue 16",
    "1.3.1": "--terminated-pod-gc-threshold: a manual control",
    "2.7": "a CA unique to etcd: whether two files hold the same CA cannot be seen in configuration",
    "4.2.7": "--hostname-override: a manual control",
    "4.2.8": "eventRecordQPS: a manual control",
    "4.2.13": "--pod-max-pids: a manual control",
    "4.2.14": "--seccomp-default: a manual control",
    "4.3.1": "kube-proxy: not a component the cluster gate reads",
}


def _cited() -> set[str]:
    prefix = "CIS Kubernetes Benchmark v1.12 "
    cited: set[str] = set()
    for rule in RULES:
        if rule.reference and rule.reference.startswith(prefix):
            cited |= {part.strip() for part in rule.reference.removeprefix(prefix).split(",")}
    return cited


def _flag_controls() -> dict[str, str]:
    root = require_corpus("cluster-config")
    expected: dict[str, Any] = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    controls = {}
    for path, control_file in expected["kube-bench"]["files"].items():
        if "cis-1.12" not in path:
            continue
        for check in control_file["checks"]:
            flags = [item.get("flag") or "" for item in check["test_items"]]
            if any(f.startswith("--") or f in ("provider", "RotateKubeletServerCertificate") for f in flags):
                controls[str(check["id"])] = check["text"]  # YAML reads some ids (2.1) as numbers
    return controls


def test_every_flag_control_is_cited_or_left_out_with_a_reason() -> None:
    controls = _flag_controls()
    cited = _cited()
    assert set(controls) - cited == set(LEFT_OUT), sorted(set(controls) - cited)
    print(f"kube-bench cis-1.12 flag controls: {len(controls)}; cited by a rule: {len(set(controls) & cited)};"
          f" left out: {len(LEFT_OUT)}")


def test_every_cited_control_is_a_benchmark_control() -> None:
    root = require_corpus("cluster-config")
    expected: dict[str, Any] = json.loads((root / "expected.json").read_text(encoding="utf-8"))
    ids = {str(c["id"]) for path, f in expected["kube-bench"]["files"].items() if "cis-1.12" in path
           for c in f["checks"]}
    assert _cited() <= ids, sorted(_cited() - ids)
