"""A control-plane component's command line, read the way its flag parser reads it.

kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet parse flags with pflag:
`--name=value` or `--name value`, a boolean may stand bare, the last of a repeated flag wins, and list
flags (`--authorization-mode`, admission plugins, cipher suites, feature gates) append every occurrence.
etcd uses Go's `flag` package, which also takes one dash. None of them takes a positional argument.
Whatever a component would refuse, or where this reading could differ from the component's, is a
`Problem`: the object is then undecided, never passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

YamlPath = tuple[str | int, ...]

LIST_FLAGS = frozenset({
    "authorization-mode", "enable-admission-plugins", "disable-admission-plugins", "admission-control",
    "tls-cipher-suites", "feature-gates",
})
"""pflag slice and map flags: every occurrence is appended, none replaces another."""

BOOL_FLAGS = frozenset({
    "anonymous-auth", "profiling", "service-account-lookup", "kubelet-https", "auto-tls", "peer-auto-tls",
    "client-cert-auth", "peer-client-cert-auth", "protect-kernel-defaults", "rotate-certificates",
    "rotate-server-certificates", "use-service-account-credentials", "make-iptables-util-chains",
    "allow-privileged", "enable-bootstrap-token-auth", "leader-elect", "authentication-token-webhook",
    "enable-aggregator-routing", "experimental-initial-corrupt-check", "serialize-image-pulls",
    "service-account-extend-token-expiration",
})
"""Boolean flags: they may stand bare (`--profiling` is `--profiling=true`) and never take the next item."""

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
"""What Go's strconv.ParseBool accepts; any other text is refused by the component."""


def shown(value: str, limit: int = 80) -> str:
    """A value from the input, quoted for a message: control characters escaped, long values cut."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)


@dataclass(frozen=True)
class Flag:
    """One occurrence of a flag: its name (no dashes), its value (None when bare) and where it is."""

    name: str
    value: str | None
    path: YamlPath


@dataclass(frozen=True)
class Problem:
    """Input a component would refuse or that cannot be read safely: the object is undecided."""

    message: str
    path: YamlPath


class FlagValueError(Exception):
    """A flag's value the component would refuse (a boolean that is not one, a number that is not one)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class FlagSet:
    """The flags one component runs with, and what it runs with where the file says nothing."""

    component: str
    flags: list[Flag]
    where: YamlPath
    """Where findings about a flag that is not given point (the command, the extraArgs, the object)."""
    defaults: Mapping[str, str] = field(default_factory=dict)
    """Flags the tool that writes the real command line adds when the file does not give them (kubeadm)."""
    defaults_by: str | None = None
    unset_known: bool = True
    """False when flags not given here may still be set elsewhere (a --config file, k3s's own defaults):
    then only the flags given are judged."""
    unset_reason: str = ""

    def occurrences(self, name: str) -> list[Flag]:
        return [flag for flag in self.flags if flag.name == name]

    def last(self, name: str) -> Flag | None:
        found = self.occurrences(name)
        return found[-1] if found else None

    def given(self, name: str) -> bool:
        return self.last(name) is not None or name in self.defaults

    def knows(self, name: str) -> bool:
        """Whether what the component runs with for `name` is known: given, defaulted, or truly unset."""
        return self.unset_known or self.given(name)

    def value(self, name: str) -> str | None:
        """The value the component uses: the last occurrence, else the tool's default; None when unset."""
        flag = self.last(name)
        if flag is not None:
            return "true" if flag.value is None else flag.value
        return self.defaults.get(name)

    def items(self, name: str) -> list[str] | None:
        """A list flag's items, every occurrence appended, as pflag does; None when unset."""
        found = self.occurrences(name)
        if not found:
            default = self.defaults.get(name)
            return None if default is None else _split(default)
        return [item for flag in found for item in _split(flag.value or "")]

    def boolean(self, name: str) -> bool | None:
        text = self.value(name)
        if text is None:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise FlagValueError(Problem(f"--{name}={shown(text)} is not a boolean {self.component} accepts"
                                     " (true or false)", self.path_of(name)))

    def integer(self, name: str) -> int | None:
        text = self.value(name)
        if text is None:
            return None
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise FlagValueError(Problem(f"--{name}={shown(text)} is not a number {self.component} accepts",
                                         self.path_of(name))) from None

    def path_of(self, name: str) -> YamlPath:
        flag = self.last(name)
        return flag.path if flag is not None else self.where

    def unset_note(self, name: str) -> str:
        """How to say a flag is not set: by the file, and by the tool that writes the command line."""
        if self.defaults_by:
            return f"--{name} is not set (nor by {self.defaults_by})"
        return f"--{name} is not set"

    def duplicates(self) -> Iterator[Problem]:
        """A flag given more than once: say which value the component uses."""
        seen: dict[str, list[Flag]] = {}
        for flag in self.flags:
            seen.setdefault(flag.name, []).append(flag)
        for name, found in seen.items():
            if len(found) < 2:
                continue
            if name in LIST_FLAGS:
                uses = f"{self.component} appends them all: {shown(','.join(self.items(name) or []))}"
            else:
                uses = f"{self.component} uses the last one, {shown(self.value(name) or '')}"
            yield Problem(f"--{name} is given {len(found)} times: {uses}", found[-1].path)


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_command_line(items: Sequence[Any], base: YamlPath, start: int, component: str,
                       single_dash: bool = False) -> tuple[list[Flag], list[Problem]]:
    """Flags of `items[start:]` (a container's command + args), each with its path `(*base, index)`."""
    flags: list[Flag] = []
    problems: list[Problem] = []
    index = start
    while index < len(items):
        item, path = items[index], (*base, index)
        index += 1
        if not isinstance(item, str):
            problems.append(Problem(f"argument {index - 1} is a {type(item).__name__}, not a string", path))
            continue
        name, value, problem = _split_flag(item, component, single_dash)
        if problem is not None:
            problems.append(Problem(problem, path))
            continue
        if value is None and name not in BOOL_FLAGS:
            following = items[index] if index < len(items) else None
            if isinstance(following, str) and (name in VALUE_FLAGS or not following.startswith("-")):
                value = following  # `--name value`: the flag parser takes the next argument, whatever it is
                index += 1
                if following.startswith("-"):
                    problems.append(Problem(f"--{name} takes the next argument, {shown(following)}, as its value"
                                            f" ({component} parses flags so): its own value is missing", path))
            elif name in VALUE_FLAGS:
                problems.append(Problem(f"--{name} has no value: {component} refuses a flag that needs one", path))
                continue
        flags.append(Flag(name, value, path))
    return flags, problems


VALUE_FLAGS = frozenset({
    "authorization-mode", "enable-admission-plugins", "disable-admission-plugins", "tls-cipher-suites",
    "tls-min-version", "tls-cert-file", "tls-private-key-file", "client-ca-file", "kubelet-client-certificate",
    "kubelet-client-key", "kubelet-certificate-authority", "etcd-certfile", "etcd-keyfile", "etcd-cafile",
    "etcd-servers", "service-account-key-file", "encryption-provider-config", "audit-policy-file",
    "audit-log-path", "audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize", "audit-webhook-config-file",
    "token-auth-file", "basic-auth-file", "insecure-port", "insecure-bind-address", "secure-port", "bind-address",
    "cert-file", "key-file", "peer-cert-file", "peer-key-file", "trusted-ca-file", "peer-trusted-ca-file",
    "root-ca-file", "service-account-private-key-file", "read-only-port", "config", "config-file",
    "authorization-config",
})
"""Flags gates reads that need a value: bare, the component refuses to start."""


FLAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""What a flag name looks like; anything else is refused before it can reach a message."""


def _split_flag(item: str, component: str, single_dash: bool) -> tuple[str, str | None, str | None]:
    """(name, value, problem) of one argument."""
    if item.startswith("--"):
        body = item[2:]
    elif item.startswith("-") and len(item) > 1 and (single_dash or item[1:2] == "v"):
        body = item[1:]  # Go's flag package (etcd) takes one dash; pflag only for the shorthand -v
    elif item.startswith("-"):
        return "", None, f"{shown(item)}: {component} flags take two dashes"
    else:
        return "", None, (f"{shown(item)} is not a flag and {component} takes no positional argument"
                          " (a value without its --flag?)")
    name, equals, value = body.partition("=")
    if not FLAG_NAME.fullmatch(name):
        return "", None, f"{shown(item)} is not a flag {component} accepts"
    return name, (value if equals else None), None


def extra_args(value: Any, base: YamlPath, component: str) -> tuple[list[Flag], list[Problem]]:
    """kubeadm `extraArgs`: a map (v1beta3 and older) or a list of {name, value} (v1beta4, repeats allowed)."""
    flags: list[Flag] = []
    problems: list[Problem] = []
    if value is None:
        return flags, problems
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str) or not FLAG_NAME.fullmatch(name):
                problems.append(Problem(f"extraArgs {shown(str(name))} is not a flag name", (*base, name)))
                continue
            if not isinstance(item, str):
                problems.append(Problem(_not_a_string(str(name), item), (*base, name)))
                continue
            flags.append(Flag(str(name), item, (*base, name)))
        return flags, problems
    if isinstance(value, list):
        for index, entry in enumerate(value):
            path = (*base, index)
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not FLAG_NAME.fullmatch(name):
                problems.append(Problem(f"extraArgs[{index}] must be a mapping with a name and a value", path))
                continue
            item = entry.get("value", "")
            if not isinstance(item, str):
                problems.append(Problem(_not_a_string(entry["name"], item), (*path, "value")))
                continue
            flags.append(Flag(entry["name"], item, (*path, "value") if "value" in entry else path))
        return flags, problems
    problems.append(Problem(f"extraArgs of {component} must be a mapping or a list, not a {type(value).__name__}",
                            base))
    return flags, problems


def _not_a_string(name: str, value: Any) -> str:
    """kubeadm decodes extraArgs into strings: `anonymous-auth: false` unquoted makes it refuse the file."""
    kind = "null" if value is None else type(value).__name__
    return f"extraArgs {shown(name)} is a {kind}, not a string: kubeadm refuses the file (quote the value)"
