"""`load_documents` reads YAML exactly as PyYAML's own safe loader does, positions included.

The scan's parser is tuned for speed (libyaml's C composer, memoised tag resolution, the resolver's
per-node calls skipped, unwanted kinds left unconverted). The reference is PyYAML's `CSafeLoader`
untouched (libyaml's scanner: it differs from PyYAML's pure-Python one on tabs, for one), a YAML 1.1
reading like that of kubectl's decoder: `yes`/`on` booleans, `0755` octals, `<<` merges. This test holds every
YAML and JSON file of the corpus and every small hostile case to it: where ours reads a document, its
values and the line:column of every key and item equal the reference's; where ours refuses a file, the
reference refuses it too or the refusal is one of ours on purpose (a duplicate key, a merge that sets a
key twice, a non-scalar key, the node and depth budgets). A faster parser must pass this unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gates.errors import InputError
from gates.targets.files import decode
from gates.targets.yaml_docs import Document, PosDict, PosList, load_documents
from tests.conftest import require_corpus
from tests.hostile.files import MANIFEST_CASES

_OUR_REFUSALS = ("duplicate key", "merged twice", "set both directly", "mapping key is not a scalar",
                 "merge key '<<' needs a mapping", "YAML nodes", "nesting", "nested too deeply", "too long")
"""Refusals of input PyYAML reads one way and Kubernetes tools may read another: refused on purpose."""
_SMALL = 1 << 20


def _corpus_files() -> list[Path]:
    root = require_corpus()
    return sorted(p for folder in ("extras/kubernetes-examples", "pss", "policies", "cluster-config")
                  if (root / folder).is_dir() for p in (root / folder).rglob("*")
                  if p.suffix in (".yaml", ".yml", ".json") and p.is_file() and p.stat().st_size < _SMALL)


class _Reference(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader, reading a tag it has no constructor for as plain data, as gates does (and
    as Kubernetes' decoder does: tags never construct anything); the safe loader refuses such a file."""


def _untagged(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Reference.add_constructor(None, _untagged)
_REFERENCE = _Reference


def _reference(text: str) -> list[tuple[Any, yaml.Node | None]]:
    """Each document as PyYAML's safe loader constructs it, with its composed node."""
    values = list(yaml.load_all(text, Loader=_REFERENCE))
    nodes = list(yaml.compose_all(text, Loader=_REFERENCE))
    return list(zip(values, nodes, strict=True))


def _expected(value: Any, node: yaml.Node) -> Any:
    """The reference value as gates keeps it: a mapping key is the text it was written as (`null: x` is
    the key "null", where PyYAML makes it None; see the closing note of issue 19), timestamps and binary
    stay their text; everything else is PyYAML's value."""
    if isinstance(node, yaml.ScalarNode):
        return node.value if isinstance(value, (dt.date, bytes)) else value
    if isinstance(node, yaml.SequenceNode):
        return [_expected(v, n) for v, n in zip(value, node.value, strict=True)]
    assert isinstance(node, yaml.MappingNode)
    expected: dict[str, Any] = {}
    merges: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            merges.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
            continue
        expected[key_node.value] = _expected(value[_KEYS.construct_object(key_node, deep=True)], value_node)
    for merged in merges:
        for key, item in _expected(value, merged).items():  # PyYAML's merged mapping holds its keys
            expected.setdefault(key, item)
    return expected


_KEYS = _Reference("")
"""Constructs key nodes as the reference does, to find each key's value in the reference's mapping."""


def _positions(content: Any, node: yaml.Node, where: str) -> Iterator[tuple[str, tuple[int, int], tuple[int, int]]]:
    """(path, ours, reference) for the position of every key and item, walking both trees together."""
    if isinstance(content, PosDict) and isinstance(node, yaml.MappingNode):
        keys = {k.value: (k, v) for k, v in node.value
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge"}
        for key, value in content.items():
            if key not in keys:
                continue  # set by a merge: its position is in the merged mapping, checked there
            key_node, value_node = keys[key]
            mark = key_node.start_mark
            yield f"{where}.{key}", content.key_pos[key], (mark.line + 1, mark.column + 1)
            yield from _positions(value, value_node, f"{where}.{key}")
    elif isinstance(content, PosList) and isinstance(node, yaml.SequenceNode):
        for index, (item, item_node) in enumerate(zip(content, node.value, strict=True)):
            mark = item_node.start_mark
            yield f"{where}[{index}]", content.item_pos[index], (mark.line + 1, mark.column + 1)
            yield from _positions(item, item_node, f"{where}[{index}]")


def _strip(content: Any) -> Any:
    if isinstance(content, dict):
        return {k: _strip(v) for k, v in content.items()}
    if isinstance(content, list):
        return [_strip(v) for v in content]
    return content


def assert_same_reading(text: str, name: str) -> None:
    refusal: str | None = None
    try:
        ours: list[Document] = list(load_documents(text))
    except InputError as exc:
        refusal = str(exc)
    if refusal is not None:
        try:
            _reference(text)
        except (yaml.YAMLError, RecursionError, ValueError):
            return  # both refuse it
        assert any(reason in refusal for reason in _OUR_REFUSALS), f"{name}: only gates refuses it: {refusal}"
        return
    reference = _reference(text)
    assert len(ours) == len(reference), f"{name}: document count"
    for document, (value, node) in zip(ours, reference, strict=True):
        if node is None:
            assert document.content is None, name
            continue
        expected = _expected(value, node)
        assert _strip(document.content) == expected, f"{name}: document {document.index + 1} differs"
        mark = node.start_mark
        assert document.pos == (mark.line + 1, mark.column + 1), f"{name}: document {document.index + 1} position"
        for path, mine, theirs in _positions(document.content, node, name):
            assert mine == theirs, f"{path}: at {mine}, the reference says {theirs}"


def test_every_corpus_file_reads_as_pyyaml_reads_it() -> None:
    """Needs the corpus (`$GATES_CORPUS`): its Kubernetes examples, PSS fixtures, policies, cluster configs."""
    files = _corpus_files()
    assert len(files) > 300  # the corpus is there and was walked
    for path in files:
        assert_same_reading(decode(path.read_bytes()), str(path))


@pytest.mark.parametrize("case", list(MANIFEST_CASES), ids=lambda c: c.name)
def test_every_small_hostile_file_reads_as_pyyaml_reads_it(case: Any, tmp_path: Path) -> None:
    path = tmp_path / case.name
    case.write(path)
    if path.stat().st_size >= _SMALL:
        pytest.skip("large cases are the budgets' tests (tests/manifests/test_memory.py), not the reading's")
    try:
        text = decode(path.read_bytes())
    except InputError:
        return  # not text: never parsed
    assert_same_reading(text, case.name)


@pytest.mark.parametrize("text", [
    "a: yes\nb: on\nc: off\nd: No\ne: y\n",
    "mode: 0755\nhex: 0x1F\nsexagesimal: 1:30\nfloat: 1e3\ninf: .inf\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  z: 3\n",
    "when: 2001-12-14t21:59:43.10-05:00\nday: 2002-12-14\nnull: ~\nempty:\n",
    "- {a: 1}\n- [1, 2, {b: [3]}]\n- !!str 12\n- '012'\n",
    "---\n...\n---\nkind: Pod\n---\n",
])
def test_yaml_1_1_readings(text: str) -> None:
    assert_same_reading(text, repr(text))
