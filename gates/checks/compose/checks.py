"""The rules over one resolved service: each check reads the fields it needs, interpolated.

A field whose value depends on an unset variable is not judged: `Reading.undecided` says which field
and which variable, and the service's result becomes an `error` (its other findings still stand).
Messages quote values as written in the file, never as interpolated: an environment value may be a
secret, and it must not reach a log.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gates.checks.compose.display import shown
from gates.checks.compose.interpolate import TemplateError, Unresolved, interpolate
from gates.checks.compose.project import Path, Service, Written
from gates.errors import InputError
from gates.targets.yaml_docs import PosDict, locate, render_path

HOST_NAMESPACES = ("network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup")
RUNTIME_SOCKETS = frozenset({"docker.sock", "containerd.sock", "crio.sock", "podman.sock", "cri-dockerd.sock"})
SENSITIVE_PATHS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/home", "/var/run", "/run",
                   "/var/lib/docker", "/var/lib/containerd", "/var/lib/kubelet", "/lib/modules",
                   "/usr/lib/modules", "/usr/src", "/var/log", "/var/spool/cron")
"""Host paths whose content (or any folder holding them: `/var`, `/usr`, `/lib`) is never mounted."""
HARMLESS_PATHS = frozenset({"/dev/null", "/etc/localtime", "/etc/timezone"})
"""Host paths bound to mask a file or share the clock: they expose nothing."""
_TRUE = frozenset({"true", "yes", "y", "on"})
_FALSE = frozenset({"false", "no", "n", "off"})
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_UID = re.compile(r"[+-]?[0-9]+")
"""A numeric user as Docker parses it (Go's strconv.Atoi): `0`, `00`, `+0` and `-0` are all root."""
UNCONFINED = (("seccomp", "unconfined"), ("apparmor", "unconfined"), ("label", "disable"),
              ("systempaths", "unconfined"))
HOOKS = ("post_start", "pre_stop")


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    written: Written
    subpath: Path = ()
    """Below `written.path`: the list item or key the finding points at."""


@dataclass
class Reading:
    """Reads a service's fields through interpolation, noting the ones no value can be known for."""

    service: Service
    environment: Mapping[str, str]
    undecided: list[str] = field(default_factory=list)

    def last(self, key: str) -> Written | None:
        written = self.service.fields.get(key)
        return written[-1] if written else None

    def text(self, value: str, written: Written, subpath: Path = ()) -> str | None:
        """`value` (found at `written` + `subpath`) interpolated; None, noted, when a variable is unset."""
        try:
            resolved = interpolate(value, self.environment)
        except TemplateError as exc:
            raise InputError(f"{self.where(written, subpath)}: {exc}") from None
        if isinstance(resolved, Unresolved):
            kind = "required variable" if resolved.required else "unset variable"
            plural = "s" if len(resolved.variables) > 1 else ""
            self.undecided.append(f"{self.where(written, subpath)} depends on {kind}{plural}"
                                  f" {', '.join(resolved.variables)}")
            return None
        return resolved

    def boolean(self, written: Written) -> bool | None:
        value = written.value
        if isinstance(value, bool):
            return value
        text = self.text(str(value), written)
        if text is None:
            return None
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise InputError(f"{self.where(written)}: '{shown(str(value))}' is not a boolean")

    def where(self, written: Written, subpath: Path = ()) -> str:
        line, _ = _position(written, subpath)
        field_path = render_path((*written.path[2:], *subpath))
        return f"{field_path} ({written.file.display}:{line})"


def _position(written: Written, subpath: Path) -> tuple[int, int]:
    return locate(written.file.root, (*written.path, *subpath)) or written.position()


Check = Callable[[Reading, "CheckOptions"], Iterator[Violation]]


@dataclass(frozen=True)
class CheckOptions:
    allowed_capabilities: frozenset[str]


def privileged(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    written = reading.last("privileged")
    if written is not None and reading.boolean(written):
        yield Violation("compose-privileged", "runs privileged: every capability and every host device", written)


def capabilities(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    for written in reading.service.fields.get("cap_add", ()):
        for index, item in enumerate(written.value):
            text = reading.text(item, written, (index,))
            if text is None:
                continue
            name = text.strip().upper().removeprefix("CAP_")
            if name == "ALL" or name not in options.allowed_capabilities:
                yield Violation("compose-capabilities", f"adds capability '{shown(item)}'", written, (index,))


def host_namespaces(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    for key in HOST_NAMESPACES:
        written = reading.last(key)
        if written is None or written.value is None:
            continue
        if reading.text(written.value, written) == "host":
            yield Violation("compose-host-namespaces", f"shares the host's namespace ({key}: host)", written)
    yield from _host_networks(reading)


def _host_networks(reading: Reading) -> Iterator[Violation]:
    """Networks the service joins whose top-level definition is the host's (`name: host`, or external `host`)."""
    written = reading.last("networks")
    if written is None:
        return
    defined = written.file.root.get("networks")
    names = list(written.value) if isinstance(written.value, (PosDict, list)) else []
    for index, name in enumerate(names):
        definition = defined.get(name) if isinstance(defined, PosDict) and isinstance(name, str) else None
        if not isinstance(definition, PosDict):
            continue
        at = Written(definition, written.file, ("networks", name))
        if isinstance(definition.get("name"), str):
            effective = reading.text(definition["name"], at, ("name",))
        else:
            external = definition.get("external")
            effective = name if external is True or str(external).lower() == "true" else None
        if effective == "host":
            subpath: Path = (name,) if isinstance(written.value, PosDict) else (index,)
            yield Violation("compose-host-namespaces", f"joins network '{shown(name)}', which is the host's"
                            " network (shares the host's network namespace)", written, subpath)


def user(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    written = reading.last("user")
    if written is None:
        anchor = Written(None, reading.service.file, ("services", reading.service.name))
        yield Violation("compose-user-unset", "sets no user: the image's USER decides, often root", anchor)
        return
    text = reading.text(written.value, written)
    if text is None:
        return
    name = text.strip().split(":", 1)[0]
    if _is_root(name):
        yield Violation("compose-user-root", f"runs as root (user: '{shown(written.value)}')", written)
    elif not name:
        yield Violation("compose-user-unset", "sets an empty user: the image's USER decides, often root", written)


def _is_root(name: str) -> bool:
    return name == "root" or (_UID.fullmatch(name) is not None and int(name) == 0)


def hooks(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    """`post_start` / `pre_stop` commands run in the container with their own `privileged` and `user`."""
    for key in HOOKS:
        written = reading.last(key)
        if written is None:
            continue
        for index, hook in enumerate(written.value):
            at = Written(hook, written.file, (*written.path, index))
            if "privileged" in hook and reading.boolean(Written(hook["privileged"], written.file,
                                                                 (*at.path, "privileged"))):
                yield Violation("compose-privileged", f"runs its {key} hook privileged", written,
                                (index, "privileged"))
            if isinstance(hook.get("user"), str):
                text = reading.text(hook["user"], at, ("user",))
                if text is not None and _is_root(text.strip().split(":", 1)[0]):
                    yield Violation("compose-user-root", f"runs its {key} hook as root"
                                    f" (user: '{shown(hook['user'])}')", written, (index, "user"))


@dataclass(frozen=True)
class _Mount:
    host: str | None
    """The host path bound, if any."""
    target: str | None
    volume: str | None = None
    """The named volume mounted, if any (its definition may bind a host path)."""


def _mount(reading: Reading, item: Any, written: Written, index: int) -> _Mount | None:
    """What one `volumes` entry mounts; None when a variable leaves it unknown."""
    if isinstance(item, str):
        text = reading.text(item, written, (index,))
        if text is None:
            return None
        drive = 2 if _WINDOWS_DRIVE.match(text) else 0
        parts = text[drive:].split(":")
        if len(parts) == 1:
            return _Mount(None, text)  # an anonymous volume
        source, target = text[:drive] + parts[0], parts[1]
        return _Mount(source, target) if _is_host_path(source) else _Mount(None, target, source)
    assert isinstance(item, PosDict)
    values: dict[str, str] = {}
    for key in ("type", "source", "target"):
        if isinstance(item.get(key), str):
            resolved = reading.text(item[key], written, (index, key))
            if resolved is None:
                return None
            values[key] = resolved
    kind, named = values.get("type"), values.get("source")
    if kind in ("bind", "npipe"):
        return _Mount(named, values.get("target"))
    return _Mount(None, values.get("target"), named if kind == "volume" else None)


def _volume_bind(reading: Reading, written: Written, name: str) -> tuple[str, Written] | None:
    """The host path a named volume of the file binds (`driver_opts: {o: bind, device: PATH}`), if any."""
    volumes = written.file.root.get("volumes")
    volume = volumes.get(name) if isinstance(volumes, PosDict) else None
    options = volume.get("driver_opts") if isinstance(volume, PosDict) else None
    if not isinstance(options, PosDict) or not isinstance(options.get("device"), str):
        return None
    at = Written(options, written.file, ("volumes", name, "driver_opts"))
    flags = reading.text(str(options.get("o", "")), at, ("o",))
    device = reading.text(options["device"], at, ("device",))
    if flags is None or device is None or not {"bind", "rbind"} & {f.strip() for f in flags.split(",")}:
        return None
    return device, at


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~", "\\")) or bool(_WINDOWS_DRIVE.match(source))


def _sensitive(source: str, folder: str) -> tuple[str, str] | None:
    """(rule, why) for a host path worth a finding, else None.

    A relative path (`./data`, `../x`, or a long-syntax `source: data`) starts at `folder` (the compose
    file's), as compose resolves it: one that stays in
    the project (or the working directory) is the project's; one that climbs out with `../` or through
    a symbolic link is judged where it lands.
    """
    if "docker_engine" in source:
        return "compose-runtime-socket", "the Docker engine's named pipe"
    if source.startswith("~"):
        return "compose-host-path", "a home folder"
    if not source.startswith(("/", "\\")) and not _WINDOWS_DRIVE.match(source):
        landed = os.path.realpath(os.path.join(folder, source))
        if any(_within(landed, os.path.realpath(inside)) for inside in (folder, os.getcwd())):
            return None
        judged = _sensitive(landed, folder)
        return (judged[0], f"it resolves to {shown(landed)}: {judged[1]}") if judged else None
    if not source.startswith("/"):
        return None  # a Windows path outside the lists
    path = posixpath.normpath(source)
    path = "/" + path.lstrip("/")
    if posixpath.basename(path) in RUNTIME_SOCKETS:
        return "compose-runtime-socket", "the container runtime's socket"
    if path == "/":
        return "compose-host-path", "the host's root filesystem"
    if path in HARMLESS_PATHS:
        return None
    for prefix in SENSITIVE_PATHS:
        if path == prefix or path.startswith(prefix + "/"):
            return "compose-host-path", f"under {prefix}"
    held = [prefix for prefix in SENSITIVE_PATHS if prefix.startswith(path + "/")]
    if held:
        return "compose-host-path", f"it holds {', '.join(held)}"
    return None


def _within(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _folder(written: Written) -> str:
    return str(written.file.folder)


def _remounted(seen: set[str], target: str | None) -> bool:
    """Whether a later entry mounts the same container path (compose merges volumes by target)."""
    if target is None:
        return False
    key = posixpath.normpath(target)
    if key in seen:
        return True
    seen.add(key)
    return False


def volumes(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    seen: set[str] = set()
    found: list[Violation] = []
    for written in reversed(reading.service.fields.get("volumes", ())):
        for index in reversed(range(len(written.value))):
            item = written.value[index]
            mount = _mount(reading, item, written, index)
            if mount is None or _remounted(seen, mount.target):
                continue
            host, through = mount.host, ""
            if host is None and mount.volume is not None:
                bound = _volume_bind(reading, written, mount.volume)
                if bound is not None:
                    host, line = bound[0], _position(bound[1], ("device",))[0]
                    through = f", through volume '{shown(mount.volume)}': its driver_opts device, line {line}"
            judged = _sensitive(host, _folder(written)) if host is not None else None
            if judged is not None:
                rule, why = judged
                subpath: Path = (index,) if isinstance(item, str) else (index, "source")
                written_source = item if isinstance(item, str) else item.get("source", "")
                found.append(Violation(rule, f"mounts '{shown(str(written_source))}' from the host ({why}{through})",
                                       written, subpath))
    yield from reversed(found)


def file_sources(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    """`secrets` / `configs` a service uses whose top-level definition binds a host `file:` into it."""
    for key in ("secrets", "configs"):
        kind = key[:-1]
        for written in reading.service.fields.get(key, ()):
            defined = written.file.root.get(key)
            for index, item in enumerate(written.value):
                name = item if isinstance(item, str) else item.get("source")
                definition = defined.get(name) if isinstance(defined, PosDict) and isinstance(name, str) else None
                if not isinstance(definition, PosDict) or not isinstance(definition.get("file"), str):
                    continue
                at = Written(definition, written.file, (key, name))
                host = reading.text(definition["file"], at, ("file",))
                judged = _sensitive(host, _folder(written)) if host is not None else None
                if judged is not None:
                    line = _position(at, ("file",))[0]
                    yield Violation(judged[0], f"mounts {kind} '{shown(name)}' from host file"
                                    f" '{shown(definition['file'])}' ({judged[1]}; {key} line {line})",
                                    written, (index,))


def api_socket(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    written = reading.last("use_api_socket")
    if written is not None and written.value is True:
        yield Violation("compose-runtime-socket", "mounts the Docker API socket (use_api_socket: true)", written)


def devices(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    for written in reading.service.fields.get("devices", ()):
        for index, item in enumerate(written.value):
            source = item if isinstance(item, str) else item["source"]
            yield Violation("compose-devices", f"passes host device '{shown(source)}' in", written, (index,))
    for written in reading.service.fields.get("device_cgroup_rules", ()):
        for index, item in enumerate(written.value):
            yield Violation("compose-devices", f"lets the container create and use host devices"
                            f" (device_cgroup_rules '{shown(item)}')", written, (index,))


def security_options(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    no_new_privileges = False
    undecided = False
    parts = reading.service.fields.get("security_opt", ())
    for written in parts:
        for index, item in enumerate(written.value):
            text = reading.text(item, written, (index,))
            if text is None:
                undecided = True
                continue
            name, value = _option(text)
            if (name, value) in UNCONFINED:
                yield Violation("compose-unconfined", f"turns confinement off ('{shown(item)}')", written, (index,))
            elif name == "no-new-privileges":
                no_new_privileges = value in ("", "true")
    if not no_new_privileges and not undecided:
        anchor = parts[-1] if parts else Written(None, reading.service.file, ("services", reading.service.name))
        yield Violation("compose-no-new-privileges", "does not set security_opt no-new-privileges:true", anchor)


def _option(text: str) -> tuple[str, str]:
    """`name:value` or `name=value` (both spellings are Docker's), lower-cased; value "" when absent."""
    separators = [i for i in (text.find(":"), text.find("=")) if i >= 0]
    if not separators:
        return text.strip().lower(), ""
    cut = min(separators)
    return text[:cut].strip().lower(), text[cut + 1:].strip().lower()


def read_only(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    written = reading.last("read_only")
    if written is None:
        anchor = Written(None, reading.service.file, ("services", reading.service.name))
        yield Violation("compose-read-only", "has a writable root filesystem (read_only not set)", anchor)
    elif reading.boolean(written) is False:
        yield Violation("compose-read-only", "has a writable root filesystem (read_only: false)", written)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """`repo[:tag][@digest]` -> (repository, tag, digest); a registry's port is not a tag."""
    name, _, digest = image.partition("@")
    if ":" in name.rsplit("/", 1)[-1]:
        repository, tag = name.rsplit(":", 1)
        return repository, tag, digest or None
    return name, None, digest or None


def image(reading: Reading, options: CheckOptions) -> Iterator[Violation]:
    written = reading.last("image")
    if written is None:
        return  # built from `build:`, not pulled
    text = reading.text(written.value, written)
    if text is None:
        return
    _, tag, digest = split_image(text.strip())
    if digest is None and tag in (None, "latest"):
        why = "the latest tag" if tag else "no tag (latest)"
        yield Violation("compose-image-latest", f"runs image '{shown(written.value)}' by {why}", written)


CHECKS: Sequence[tuple[tuple[str, ...], Check]] = (
    (("compose-privileged",), privileged),
    (("compose-capabilities",), capabilities),
    (("compose-host-namespaces",), host_namespaces),
    (("compose-user-root", "compose-user-unset"), user),
    (("compose-runtime-socket", "compose-host-path"), volumes),
    (("compose-runtime-socket", "compose-host-path"), file_sources),
    (("compose-privileged", "compose-user-root"), hooks),
    (("compose-runtime-socket",), api_socket),
    (("compose-devices",), devices),
    (("compose-unconfined", "compose-no-new-privileges"), security_options),
    (("compose-read-only",), read_only),
    (("compose-image-latest",), image),
)
"""Each check with the rules it reports: a check whose rules are all skipped is not run."""
