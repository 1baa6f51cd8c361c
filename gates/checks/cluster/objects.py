"""What the cluster gate judges: one `ClusterObject` per component command line or configuration file
object, and the `Violation`s its checks find."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gates.checks.cluster.flags import FlagSet, Problem, YamlPath
from gates.targets.yaml_docs import Position

COMPONENT = "component"
KUBELET_CONFIG = "kubelet-config"
AUDIT_POLICY = "audit-policy"
ENCRYPTION_CONFIG = "encryption-config"
AUTHZ_CONFIG = "authorization-config"
KIND_CONFIG = "kind-config"
"""A kind config that kind itself would refuse: only its problems are reported."""


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    path: YamlPath


Locator = Callable[[YamlPath], Position]
"""A path inside the object's document -> its line and column in the file."""


@dataclass
class ClusterObject:
    """A component's flags (`flags`) or a configuration object's body (`body`), and where it is."""

    category: str
    resource: str
    """`Kind/namespace/name`, `ClusterConfiguration/kube-apiserver`, `Cluster/<name>/kube-apiserver`..."""
    where: YamlPath
    locate: Locator
    flags: FlagSet | None = None
    body: Any = None
    """The object's mapping (KubeletConfiguration, Policy, EncryptionConfiguration)."""
    container: str | None = None
    problems: list[Problem] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    """The object's own `metadata.annotations` (where inline waivers live)."""
    mounts: list[tuple[str, str]] = field(default_factory=list)
    """kind extraMounts of the control-plane nodes: (path on the node, host path)."""
    versions: list[tuple[str, str, YamlPath]] = field(default_factory=list)
    """(endoflife.date product, version text, where) the object declares."""
    defaults_by: str | None = None
    """For configuration bodies: the tool that fills what the file leaves out (kubeadm)."""

    @property
    def component(self) -> str:
        return self.flags.component if self.flags else self.category
