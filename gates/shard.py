"""`--shard K/N`: which of a run's targets this process judges, so N CI jobs split one run between them.

A target (a file for the file gates, an image reference for the image gates) belongs to shard
`1 + H(id) mod N`, H a stable hash of its id: the partition depends on nothing but the id, so a file
keeps its shard when others are added or removed, and every process computes the same partition
without talking to the others. GitLab's `parallel: N` is read from `CI_NODE_INDEX` / `CI_NODE_TOTAL`
(only under `GITLAB_CI=true`); an explicit `--shard` wins. `gates merge` folds the shards' reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence

from gates.errors import UsageError
from gates.record import record
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypeVar

    from gates.config import Config

    T = TypeVar("T")


MAX_SHARDS = 1024
"""More shards than any CI matrix runs: a larger N is a typo, not a plan."""


@record
class Shard:
    """Shard `index` (1-based) of `total`."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def owns(self, target_id: str) -> bool:
        """Whether this shard judges the target with this id."""
        return shard_of(target_id, self.total) == self.index

    def select(self, items: Iterable[T], target_id: Callable[[T], str]) -> list[T]:
        """The items whose target this shard owns, in their order."""
        return [item for item in items if self.owns(target_id(item))]


def shard_of(target_id: str, total: int) -> int:
    """The 1-based shard of `total` that owns `target_id` (SHA-256: the same on every machine and Python)."""
    import hashlib  # only a sharded run pays for OpenSSL's load (a tenth of a one-file scan's start-up)

    digest = hashlib.sha256(target_id.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def parse(text: str, where: str = "--shard") -> Shard:
    """`K/N` with 1 <= K <= N <= MAX_SHARDS; anything else is a usage error naming `where`."""
    index, sep, total = text.strip().partition("/")
    if not sep or not index.isdigit() or not total.isdigit():
        raise UsageError(f"{where}: expected K/N (this job's shard K of N, e.g. 1/4), got {text!r}")
    shard = Shard(int(index), int(total))
    if not 1 <= shard.total <= MAX_SHARDS:
        raise UsageError(f"{where}: N must be between 1 and {MAX_SHARDS}, got {text!r}")
    if not 1 <= shard.index <= shard.total:
        raise UsageError(f"{where}: K must be between 1 and N ({shard.total}), got {text!r}")
    return shard


def from_environment(environ: Mapping[str, str]) -> Shard | None:
    """GitLab's `parallel: N` (`CI_NODE_INDEX` of `CI_NODE_TOTAL`, 1-based), only under `GITLAB_CI=true`."""
    if environ.get("GITLAB_CI") != "true":
        return None
    index, total = environ.get("CI_NODE_INDEX", ""), environ.get("CI_NODE_TOTAL", "")
    if not index and not total:
        return None
    if total.strip() == "1" and not index:
        return None
    return parse(f"{index}/{total}", "CI_NODE_INDEX/CI_NODE_TOTAL (GitLab parallel)")


def chosen(flag: str | None, environ: Mapping[str, str]) -> Shard | None:
    """The shard of this run: the flag, else GitLab's parallel job, else none (the whole run)."""
    if flag is not None:
        return parse(flag)
    return from_environment(environ)


_RUN_LOCAL_VALUE_FLAGS = frozenset({"--shard", "--output", "-o", "--format", "-f", "--color", "--config",
                                    "--config-ref", "--baseline"})
"""Flags whose value changes where a shard's report goes or how it looks, not its verdicts (or whose
verdict-deciding content, a configuration or baseline file, the digest holds already)."""
_RUN_LOCAL_FLAGS = frozenset({"--verbose", "-v", "--allow-output-outside-workspace", "--no-config-outputs"})
_arguments: tuple[str, ...] = ()


def remember_arguments(args: Sequence[str]) -> None:
    """The command line of this process (`gates.entry`, `gates.cli`): the targets and gate flags it names
    decide verdicts, so shards of one run must have been given the same ones."""
    global _arguments
    _arguments = tuple(args)


def verdict_arguments(args: Sequence[str]) -> tuple[str, ...]:
    """`args` without the flags that differ between the shards of one run (`--shard`, `--output`, ...)."""
    kept: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            kept.append(arg)
            kept.extend(items)
            break
        name = arg.partition("=")[0]
        if arg in _RUN_LOCAL_FLAGS:
            continue
        if name in _RUN_LOCAL_VALUE_FLAGS:
            if "=" not in arg:
                next(items, None)
            continue
        if arg.startswith("-") and not arg.startswith("--") and arg[1:2] in ("o", "f") and len(arg) > 2:
            continue  # -ojson=x.json, -fjson
        kept.append(arg)
    return tuple(kept)


def config_digest(config: Config, version: str) -> str:
    """A digest of what decides the verdicts: gates' version, the gates, fail-on, waivers, every table as
    loaded, the baseline's entries, the day judged, and the command line's targets and gate flags. Where the
    file lies and which reports are written are left out: shards run in different checkouts and write
    different files."""
    import hashlib
    from dataclasses import astuple  # only a sharded run pays for dataclasses' import

    policy = {
        "version": version, "gates": list(config.gates), "fail_on": config.fail_on.value,
        "inline_waivers": config.inline_waivers, "today": config.today.isoformat(),
        "waivers": [astuple(w) for w in config.waivers],
        "sections": {name: config.section(name) for name in sorted(config.tables)},
        "baseline": None if config.baseline is None else [
            config.baseline.max_age_days,
            sorted((e.fingerprint, e.since.isoformat()) for e in config.baseline.entries.values())],
        "arguments": list(verdict_arguments(_arguments)),
    }
    text = json.dumps(policy, sort_keys=True, default=_plain, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _plain(value: Any) -> Any:
    """Values of a loaded table JSON cannot write as they are (dates, paths, sets, enums): as text."""
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    return str(value)
