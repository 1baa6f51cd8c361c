"""The structure check holds to the Compose specification's JSON schema (needs the corpus, and jsonschema
from the dev extra): the same key sets, and the same valid/invalid verdict as `jsonschema` on every corpus
file and on invalid variants of a real one, each invalid file an error naming its line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gates.checks.compose import schema
from gates.checks.compose.project import parse
from gates.errors import InputError
from gates.targets.files import read_text
from tests.conftest import require_corpus
from tests.reporters.conftest import jsonschema


def _schema(*parts: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(require_corpus("compose", *parts).read_text(encoding="utf-8"))
    return loaded


def _spec() -> dict[str, Any]:
    return _schema("compose-spec", "schema", "compose-spec.json")


def test_the_key_sets_are_the_schemas() -> None:
    spec, go = _spec(), _schema("compose-go", "schema", "compose-spec.json")
    assert set(spec["properties"]) == schema.TOP_LEVEL_KEYS
    assert set(spec["definitions"]["service"]["properties"]) | set(go["$defs"]["service"]["properties"]) == (
        schema.SERVICE_KEYS)
    mount = spec["definitions"]["service"]["properties"]["volumes"]["items"]["oneOf"][1]
    assert set(mount["properties"]) == schema.MOUNT_KEYS
    assert set(mount["properties"]["type"]["enum"]) == schema.MOUNT_TYPES
    device = spec["definitions"]["service"]["properties"]["devices"]["items"]["oneOf"][1]
    assert set(device["properties"]) == schema.DEVICE_KEYS
    assert set(spec["definitions"]["volume"]["properties"]) == schema.VOLUME_KEYS


class _TagTolerantLoader(yaml.SafeLoader):
    """PyYAML, reading compose's own tags (`!reset`, `!override`) as their plain values."""


_TagTolerantLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None)


def _jsonschema_valid(text: str) -> bool:
    data = yaml.load(text, Loader=_TagTolerantLoader)  # noqa: S506 - a safe loader with a tag fallback
    validator = jsonschema.Draft7Validator(_spec())
    return bool(validator.is_valid(data))


def _gates_valid(path: Path, text: str) -> bool:
    try:
        parse(str(path), text, path.parent)
    except InputError:
        return False
    return True


def test_the_same_verdict_as_jsonschema_on_every_corpus_file() -> None:
    root = require_corpus("compose")
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml"))
    assert len(files) >= 79
    disagree = []
    for path in files:
        text = read_text(str(path))
        if not text.strip():
            continue  # empty.yaml: jsonschema validates null against nothing; gates says the file is empty
        if _jsonschema_valid(text) != _gates_valid(path, text):
            disagree.append(path.relative_to(root).as_posix())
    assert not disagree
    invalid = root / "compose-go" / "loader" / "testdata" / "extends" / "base.yaml"
    with pytest.raises(InputError, match=r"line 25, column 3: services.nil: a service is a mapping, not null"):
        parse(str(invalid), read_text(str(invalid)), invalid.parent)


VALID = """\
services:
  web:
    image: nginx:1.27
    cap_add: [NET_ADMIN]
    volumes:
      - type: bind
        source: /srv
        target: /srv
    devices: [/dev/fuse]
    extends: {service: base}
  base:
    image: x:1
x-extra: {anything: 1}
volumes:
  data:
    driver_opts: {o: bind}
  empty:
"""

INVALID = {
    "an unknown top-level key": ("x-extra: {anything: 1}", "extra: 1", 13),
    "an unknown service key": ("    image: nginx:1.27", "    imagee: nginx:1.27", 3),
    "a service name with a space": ("  base:", "  'base 2':", 11),
    "a null service": ("  base:\n    image: x:1", "  base:", 11),
    "cap_add not a list": ("cap_add: [NET_ADMIN]", "cap_add: NET_ADMIN", 4),
    "a capability twice": ("cap_add: [NET_ADMIN]", "cap_add: [NET_ADMIN, NET_ADMIN]", 4),
    "a mount without type": ("      - type: bind\n", "      - read_only: true\n", 6),
    "an unknown mount type": ("type: bind", "type: hostpath", 6),
    "an unknown mount key": ("        target: /srv\n", "        target: /srv\n        mode: rw\n", 9),
    "a device without source": ("devices: [/dev/fuse]", "devices: [{target: /dev/fuse}]", 9),
    "extends with an unknown key": ("extends: {service: base}", "extends: {service: base, from: x}", 10),
    "extends without service": ("extends: {service: base}", "extends: {file: x.yml}", 10),
    "user as a number": ("    image: x:1", "    image: x:1\n    user: 0", 13),
    "a bad cgroup": ("    image: x:1", "    image: x:1\n    cgroup: shared", 13),
    "privileged as a list": ("    image: x:1", "    image: x:1\n    privileged: [true]", 13),
    "use_api_socket as a string": ("    image: x:1", "    image: x:1\n    use_api_socket: 'true'", 13),
    "a volume option as a list": ("{o: bind}", "{o: [bind]}", 16),
    "an unknown volume key": ("    driver_opts: {o: bind}", "    driver: local\n    mount: x", 17),
    "a volume that is a list": ("  empty:", "  empty: []", 17),
}


def test_the_valid_sample_is_valid() -> None:
    assert _jsonschema_valid(VALID)
    assert _gates_valid(Path("compose.yaml"), VALID)


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_variants_are_errors_with_their_line(case: str) -> None:
    old, new, line = INVALID[case]
    assert old in VALID
    text = VALID.replace(old, new, 1)
    assert not _jsonschema_valid(text), "the variant must be invalid to the schema too"
    with pytest.raises(InputError, match=rf"^line {line}, column \d+: .*\(Compose specification\)$"):
        parse("compose.yaml", text, Path("."))
