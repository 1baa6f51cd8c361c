"""The structure of a compose file, checked against the Compose specification's schema by hand.

`jsonschema` is only a development dependency of gates, and shipping it (and the schema) for one gate
would slow every start-up; so the shape is checked here: the top-level keys, service names, every
service key, and the full type of every field a rule reads (the other fields' contents are compose's
business, not a security verdict). `tests/checks_compose/test_schema.py` holds this module to the
schema: the same key sets, and the same verdict as `jsonschema` on every file of the corpus.
The first problem is an `InputError` naming its line and column; nothing of an invalid file is judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from gates.checks.compose.display import shown
from gates.errors import InputError
from gates.targets.yaml_docs import PosDict, PosList, locate, render_path

TOP_LEVEL_KEYS = frozenset({"version", "name", "include", "services", "models", "networks", "volumes",
                            "secrets", "configs"})
SERVICE_KEYS = frozenset({
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent",
    "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
    "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "depends_on",
    "deploy", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
    "entrypoint", "env_file", "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
    "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation", "label_file", "labels",
    "links", "logging", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit",
    "models", "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
    "platform", "ports", "post_start", "pre_start", "pre_stop", "privileged", "profiles", "provider",
    "pull_policy", "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from",
    "working_dir",
})
"""Every service property of the Compose specification's schema (and compose-go's, which adds `pre_start`)."""
SERVICE_NAME = re.compile(r"[a-zA-Z0-9._-]+")
MOUNT_TYPES = frozenset({"bind", "volume", "tmpfs", "cluster", "npipe", "image"})
MOUNT_KEYS = frozenset({"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs",
                        "image"})
DEVICE_KEYS = frozenset({"source", "target", "permissions"})
VOLUME_KEYS = frozenset({"name", "driver", "driver_opts", "external", "labels"})
"""Keys of a top-level named volume, whose `driver_opts` can bind a host path (`o: bind`, `device: /etc`)."""

Path = tuple[str | int, ...]
_Check = Callable[[Any, Path], None]


class SchemaError(InputError):
    """A file that is not a valid compose file; `path` locates the offending value."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(problem)
        self.path = path


def _where(path: Path) -> str:
    return shown(render_path(path)) or "the document"


def _fail(path: Path, problem: str) -> SchemaError:
    return SchemaError(path, f"{_where(path)}: {problem}")


def _string(value: Any, path: Path) -> None:
    if not isinstance(value, str):
        raise _fail(path, f"must be a string, not {_type(value)}")


def _string_or_null(value: Any, path: Path) -> None:
    if value is not None:
        _string(value, path)


def _boolean(value: Any, path: Path) -> None:
    if not isinstance(value, (bool, str)):
        raise _fail(path, f"must be a boolean, not {_type(value)}")


def _strict_boolean(value: Any, path: Path) -> None:
    if not isinstance(value, bool):
        raise _fail(path, f"must be a boolean, not {_type(value)}")


def _strings(value: Any, path: Path) -> None:
    if not isinstance(value, PosList):
        raise _fail(path, f"must be a list of strings, not {_type(value)}")
    seen: set[str] = set()
    for index, item in enumerate(value):
        _string(item, (*path, index))
        if item in seen:
            raise _fail((*path, index), f"{item!a} is listed twice (the schema wants unique items)")
        seen.add(item)


def _cgroup(value: Any, path: Path) -> None:
    _string(value, path)
    if value not in ("host", "private") and "$" not in value:
        raise _fail(path, "must be host or private")


def _extends(value: Any, path: Path) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, PosDict):
        raise _fail(path, f"must be a service name or a mapping, not {_type(value)}")
    for key in value:
        if key not in ("service", "file"):
            raise _fail((*path, key), "is not a key of extends (service, file)")
        _string(value[key], (*path, key))
    if "service" not in value:
        raise _fail(path, "names no service")


def _long_forms(value: Any, path: Path) -> Iterator[tuple[Path, PosDict]]:
    """The mapping entries of a list whose entries are a short string or a long mapping (`volumes`,
    `devices`), each with its path; anything else is refused."""
    if not isinstance(value, PosList):
        raise _fail(path, f"must be a list, not {_type(value)}")
    for index, item in enumerate(value):
        where = (*path, index)
        if isinstance(item, str):
            continue
        if not isinstance(item, PosDict):
            raise _fail(where, f"must be a string or a mapping, not {_type(item)}")
        yield where, item


def _volumes(value: Any, path: Path) -> None:
    for where, item in _long_forms(value, path):
        _known(item, where, MOUNT_KEYS)
        if "type" not in item:
            raise _fail(where, "has no type (bind, volume, tmpfs, cluster, npipe or image)")
        _string(item["type"], (*where, "type"))
        if item["type"] not in MOUNT_TYPES:
            raise _fail((*where, "type"), "must be one of " + ", ".join(sorted(MOUNT_TYPES)))
        for key in ("source", "target", "consistency"):
            if key in item:
                _string(item[key], (*where, key))
        if "read_only" in item:
            _boolean(item["read_only"], (*where, "read_only"))
        for key in ("bind", "volume", "tmpfs", "image"):
            if key in item and not isinstance(item[key], PosDict):
                raise _fail((*where, key), f"must be a mapping, not {_type(item[key])}")


def _devices(value: Any, path: Path) -> None:
    for where, item in _long_forms(value, path):
        _known(item, where, DEVICE_KEYS)
        if "source" not in item:
            raise _fail(where, "has no source")
        for key in DEVICE_KEYS & item.keys():
            _string(item[key], (*where, key))


def _labels(value: Any, path: Path) -> None:
    if isinstance(value, PosList):
        _strings(value, path)
    elif isinstance(value, PosDict):
        for key, item in value.items():
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise _fail((*path, key), f"must be a string, number, boolean or null, not {_type(item)}")
    else:
        raise _fail(path, f"must be a list or a mapping, not {_type(value)}")


def _file_references(value: Any, path: Path) -> None:
    """A service's `secrets` / `configs`: names, or mappings with a `source`."""
    if not isinstance(value, PosList):
        raise _fail(path, f"must be a list, not {_type(value)}")
    for index, item in enumerate(value):
        if isinstance(item, PosDict):
            if "source" not in item:
                raise _fail((*path, index), "has no source")
            _string(item["source"], (*path, index, "source"))
        else:
            _string(item, (*path, index))


def _service_networks(value: Any, path: Path) -> None:
    if isinstance(value, PosList):
        _strings(value, path)
    elif isinstance(value, PosDict):
        for key, item in value.items():
            if item is not None and not isinstance(item, PosDict):
                raise _fail((*path, key), f"must be a mapping or null, not {_type(item)}")
    else:
        raise _fail(path, f"must be a list or a mapping, not {_type(value)}")


def _hooks(value: Any, path: Path) -> None:
    """`post_start` / `pre_stop`: a list of commands, each with its own `user` and `privileged`."""
    if not isinstance(value, PosList):
        raise _fail(path, f"must be a list, not {_type(value)}")
    for index, hook in enumerate(value):
        where = (*path, index)
        if not isinstance(hook, PosDict):
            raise _fail(where, f"must be a mapping, not {_type(hook)}")
        if "privileged" in hook:
            _boolean(hook["privileged"], (*where, "privileged"))
        if "user" in hook:
            _string(hook["user"], (*where, "user"))


FIELD_CHECKS: dict[str, _Check] = {
    "privileged": _boolean, "read_only": _boolean, "cap_add": _strings, "cap_drop": _strings,
    "security_opt": _strings, "network_mode": _string, "pid": _string_or_null, "ipc": _string,
    "uts": _string, "userns_mode": _string, "cgroup": _cgroup, "user": _string, "image": _string,
    "volumes": _volumes, "devices": _devices, "extends": _extends, "labels": _labels,
    "use_api_socket": _strict_boolean, "device_cgroup_rules": _strings, "secrets": _file_references,
    "configs": _file_references, "networks": _service_networks, "post_start": _hooks, "pre_stop": _hooks,
}
"""The fields the rules (and extends, and inline waivers) read, each checked as the schema types it."""


def _known(mapping: PosDict, path: Path, keys: frozenset[str]) -> None:
    for key in mapping:
        if key not in keys and not key.startswith("x-"):
            if not path:  # the file may be anything (a key file, /etc/shadow): its text is never quoted
                raise SchemaError((key,), "a top-level key the Compose specification does not know:"
                                  " not a compose file")
            raise _fail((*path, key), "is not a property the Compose specification knows")


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a mapping"


def check(root: Any, reset: frozenset[tuple[str, str]] = frozenset()) -> None:
    """Raise `SchemaError` at the first place `root` is not a valid compose file; `reset` (service, field)
    pairs carry compose's `!reset` tag, which makes their value irrelevant."""
    if not isinstance(root, PosDict):
        raise _fail((), f"a compose file is a mapping, not {_type(root)}")
    _known(root, (), TOP_LEVEL_KEYS)
    if "include" in root and not isinstance(root["include"], PosList):
        raise _fail(("include",), f"must be a list, not {_type(root['include'])}")
    _named_volumes(root.get("volumes"))
    for key in ("secrets", "configs", "networks"):
        _definitions(root.get(key), key)
    services = root.get("services")
    if services is None:
        if "services" in root:
            raise _fail(("services",), "must be a mapping of services, not null")
        return
    if not isinstance(services, PosDict):
        raise _fail(("services",), f"must be a mapping of services, not {_type(services)}")
    for name, service in services.items():
        path: Path = ("services", name)
        if not SERVICE_NAME.fullmatch(name):
            raise SchemaError(path, f"service name '{shown(name)}' may hold only letters, digits, '.', '_' and '-'")
        if not isinstance(service, PosDict):
            raise _fail(path, f"a service is a mapping, not {_type(service)}")
        _known(service, path, SERVICE_KEYS)
        for key, field_check in FIELD_CHECKS.items():
            if key in service and (name, key) not in reset:
                field_check(service[key], (*path, key))


def _named_volumes(volumes: Any) -> None:
    if volumes is None:
        return
    if not isinstance(volumes, PosDict):
        raise _fail(("volumes",), f"must be a mapping of volumes, not {_type(volumes)}")
    for name, volume in volumes.items():
        path: Path = ("volumes", name)
        if not SERVICE_NAME.fullmatch(name):
            raise SchemaError(path, f"volume name '{shown(name)}' may hold only letters, digits, '.', '_' and '-'")
        if volume is None:
            continue
        if not isinstance(volume, PosDict):
            raise _fail(path, f"a volume is a mapping or null, not {_type(volume)}")
        _known(volume, path, VOLUME_KEYS)
        options = volume.get("driver_opts")
        if options is None:
            continue
        if not isinstance(options, PosDict):
            raise _fail((*path, "driver_opts"), f"must be a mapping, not {_type(options)}")
        for key, value in options.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise _fail((*path, "driver_opts", key), f"must be a string or a number, not {_type(value)}")


def _definitions(found: Any, key: str) -> None:
    """Top-level `secrets`, `configs`, `networks`: the fields rules read (`file`, `name`, `external`) typed."""
    if found is None:
        return
    if not isinstance(found, PosDict):
        raise _fail((key,), f"must be a mapping, not {_type(found)}")
    for name, definition in found.items():
        path: Path = (key, name)
        if definition is None:
            continue
        if not isinstance(definition, PosDict):
            raise _fail(path, f"must be a mapping or null, not {_type(definition)}")
        for field_name in ("file", "name"):
            if field_name in definition:
                _string(definition[field_name], (*path, field_name))
        if "external" in definition and not isinstance(definition["external"], (bool, str, PosDict)):
            raise _fail((*path, "external"), f"must be a boolean, not {_type(definition['external'])}")


def position(root: Any, error: SchemaError) -> tuple[int, int]:
    return locate(root, error.path) or (1, 1)
