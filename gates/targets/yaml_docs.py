"""YAML (and JSON) documents that remember where each key and item sits in the file.

PyYAML's composer (libyaml's C one where present) builds a node graph with marks; we turn it into
plain dicts and lists that also carry 1-based line/column of every key and item, so a finding can
point at the exact offending field. Hostile input is stopped on the way: a document of too many nodes
while it is composed (before it can fill memory), then in the conversion duplicate keys (a scanner and
the API server could read different values), alias bombs (the same node budget, counting expansions)
and absurd nesting (bounded depth), each an `InputError` naming the line.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator

from gates.errors import InputError
from gates.pyyaml import yaml
from gates.record import record
from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, NoReturn
else:  # aliases and bases below name it at run time too, where nothing reads their arguments
    Any = object

try:  # libyaml's C parser is ~10x faster; fall back quietly where it is not built.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_RESOLVED: dict[str, str] = {}
"""Plain scalar text -> its implicit tag. Manifests repeat the same keys and values endlessly, and the
resolver's regular expressions were a tenth of the scan."""
_RESOLVED_MAX = 100_000
_MAPPING_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQUENCE_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_MERGE_TAG = _TAG + "merge"
_ScalarNode = yaml.ScalarNode
_MappingNode = yaml.MappingNode


class _Loader(_BaseLoader):
    """The safe loader, with implicit tag resolution of plain scalars memoised (no path resolvers here)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _ScalarNode:
            if not implicit[0]:
                return _STR_TAG  # quoted: what PyYAML's resolver gives it, without path resolvers
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(_RESOLVED) < _RESOLVED_MAX:
                    _RESOLVED[value] = tag
            return tag
        # An untagged collection: without path resolvers PyYAML gives the default tag, one call deeper.
        return _MAPPING_TAG if kind is yaml.MappingNode else _SEQUENCE_TAG

    if not _BaseLoader.yaml_path_resolvers:  # always so: gates adds none, and PyYAML's safe loader has none
        # The composer tells the resolver about every node it enters and leaves, for path resolvers only;
        # with none, PyYAML's methods return at once, but each is still a Python call per node (8 % of
        # parsing). C built-ins of the same arity do nothing as well, without a Python frame.
        descend_resolver = staticmethod(operator.is_)  # type: ignore[assignment]  # (parent, index) -> ignored
        ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]  # () -> ignored


Position = tuple[int, int]
"""1-based (line, column)."""

MAX_DEPTH = 100
"""Nesting deeper than this is not a manifest; it is an attack on the parser."""
MAX_NODES = 500_000
"""Nodes one document may hold, and may expand to through aliases (a real manifest has a few hundred,
a large CRD tens of thousands). A composed node costs about 300 bytes, so this also bounds memory."""

C_COMPOSER_MAX_CHARS = MAX_NODES // 2
"""Texts up to this long are composed by libyaml's C composer, 1.7 times as fast as PyYAML's but
impossible to stop mid-document. A node takes at least one character (`{?,?,...}` is the densest
YAML), so such a text cannot exceed the node budget; longer ones are composed under a count."""


class _BudgetLoader(yaml.composer.Composer, _Loader):
    """PyYAML's composer over libyaml's events, counting nodes as it composes.

    Counting after composition (as the conversion does) comes too late for memory: a 10 MiB flow list
    composes into five million nodes, 1.6 GB, before any check runs. Here the document is abandoned at
    the first node over `MAX_NODES` (keys aside, so at most twice that many are ever held). Aliases
    reuse a composed node and cost nothing here; their expansion is counted by the conversion.
    """

    def __init__(self, stream: str) -> None:
        _Loader.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        self.nodes = 0
        self.depth = 0

    def compose_document(self) -> yaml.Node | None:
        self.nodes = 0
        return super().compose_document()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        if index is not None or not isinstance(parent, yaml.MappingNode):
            self.nodes += 1  # a mapping's keys are not counted, as in the conversion: the same budget
        if self.nodes > MAX_NODES or self.depth > MAX_DEPTH:
            event = self.peek_event()
            line = event.start_mark.line + 1 if event and event.start_mark else 0
            if self.depth > MAX_DEPTH:  # before Python's recursion limit, which libyaml's composer lacks
                raise InputError(_too_deep(line))
            raise InputError(f"line {line}: document has more than {MAX_NODES} YAML nodes (too large to be a"
                             " manifest); not read further")
        self.depth += 1
        node = super().compose_node(parent, index)
        self.depth -= 1
        if node is not None:
            node.end_mark = node.start_mark  # never read: let the parser's end mark go (a quarter of a node)
        return node

_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class PosDict(dict[str, Any]):
    """A mapping that knows the position of each of its keys and of itself."""

    __slots__ = ("key_pos", "pos")

    def __init__(self, pos: Position) -> None:  # born empty: dict.__init__ has nothing to do
        self.pos = pos
        self.key_pos: dict[str, Position] = {}


class PosList(list[Any]):
    """A sequence that knows the position of each of its items and of itself."""

    __slots__ = ("item_pos", "pos")

    def __init__(self, pos: Position) -> None:  # born empty: list.__init__ has nothing to do
        self.pos = pos
        self.item_pos: list[Position] = []


@record
class Document:
    """One YAML document of a file: its 0-based index, start position and content."""

    index: int
    pos: Position
    content: Any


@record
class Unconverted:
    """Stands for a Kubernetes object whose kind the caller does not judge: never converted, for speed."""

    kind: str


KindFilter = Callable[[str], bool]
"""Given a top-level `kind`, whether the document should be converted."""


def _top_level_kind(node: yaml.Node) -> str | None:
    """The `kind` of a mapping that also has an `apiVersion`, read from the node tree without converting."""
    if not isinstance(node, yaml.MappingNode):
        return None
    kind: str | None = None
    has_api_version = False
    for key, value in node.value:
        if key.tag == _MERGE_TAG:
            return None  # a merge may set the kind: convert the document and judge what it really is
        if isinstance(key, yaml.ScalarNode):
            if key.value == "kind" and isinstance(value, yaml.ScalarNode):
                kind = str(value.value)
            elif key.value == "apiVersion":
                has_api_version = True
    return kind if has_api_version else None


def _too_deep(line: int) -> str:
    return f"line {line}: YAML nesting depth over {MAX_DEPTH} levels"


def _position(node: yaml.Node) -> Position:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


class _Converter:
    """Turns one composed document into PosDict/PosList/scalars under the node and depth budgets.

    With `aliases` (the text has an anchor), a collection reached again through an alias is converted
    once and shared (nothing downstream mutates documents): an alias bomb then costs memory only for
    what the file spells out, while its expansion still counts against `MAX_NODES` and its depth
    against `MAX_DEPTH`. Without, nothing is remembered: that is the fast path of every plain manifest.
    """

    def __init__(self, aliases: bool = True, readers: str = "Kubernetes tools") -> None:
        self.readers = readers
        """Who disagrees on a merge key set twice, for the error: the tools that read these files."""
        self.nodes = 0
        self.deepest = 0
        self.converted: dict[int, tuple[Any, int, int]] | None = {} if aliases else None
        """id(collection node) -> (its conversion, the nodes it counts, its height)."""

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            self._over(node, depth)
        if isinstance(node, yaml.ScalarNode):
            if depth > self.deepest:
                self.deepest = depth
            return _scalar(node)
        if self.converted is None:  # the common mapping goes straight to `_mapping`, one call fewer
            return self._mapping(node, depth) if node.__class__ is _MappingNode else self._collection(node, depth)
        done = self.converted.get(id(node))
        if done is not None:
            value, nodes, height = done
            self.nodes += nodes - 1
            if self.nodes > MAX_NODES or depth + height > MAX_DEPTH:
                self._over(node, depth + height)
            self.deepest = max(self.deepest, depth + height)
            return value
        first, deepest, self.deepest = self.nodes, self.deepest, depth
        value = self._collection(node, depth)
        self.converted[id(node)] = (value, self.nodes - first + 1, self.deepest - depth)
        self.deepest = max(deepest, self.deepest)
        return value

    def _collection(self, node: yaml.Node, depth: int) -> Any:
        if isinstance(node, yaml.SequenceNode):
            seq = PosList(_position(node))
            item_pos = seq.item_pos
            child = depth + 1
            for item in node.value:
                mark = item.start_mark
                item_pos.append((mark.line + 1, mark.column + 1))
                seq.append(self._string(item, child) if item.__class__ is _ScalarNode and item.tag == _STR_TAG
                           else self.convert(item, child))
            return seq
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        raise InputError(f"line {_position(node)[0]}: unsupported YAML node")  # pragma: no cover

    @staticmethod
    def _over(node: yaml.Node, depth: int) -> NoReturn:
        line = _position(node)[0]
        if depth > MAX_DEPTH:
            raise InputError(_too_deep(line))
        raise InputError(  # composition already held the document itself to the budget
            f"line {line}: aliases expand the document to more than {MAX_NODES} YAML nodes (alias bomb)")

    def _string(self, node: yaml.ScalarNode, depth: int) -> str:
        """`convert` of a string scalar, most of a manifest's values, without its type tests."""
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            self._over(node, depth)
        if depth > self.deepest:
            self.deepest = depth
        return node.value  # type: ignore[no-any-return]

    def _mapping(self, node: yaml.MappingNode, depth: int) -> PosDict:
        mapping = PosDict(_position(node))
        key_pos = mapping.key_pos
        child = depth + 1
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if key_node.__class__ is not _ScalarNode and not isinstance(key_node, yaml.ScalarNode):
                line, _ = _position(key_node)
                raise InputError(f"line {line}: mapping key is not a scalar")
            key = str(key_node.value)
            if key in key_pos:
                line, _ = _position(key_node)
                first = key_pos[key][0]
                raise InputError(f"line {line}: duplicate key '{key}' (first set at line {first})")
            mark = key_node.start_mark
            key_pos[key] = (mark.line + 1, mark.column + 1)
            mapping[key] = self._string(value_node, child) \
                if value_node.__class__ is _ScalarNode and value_node.tag == _STR_TAG \
                else self.convert(value_node, child)
        for merge in merges:
            self._merge(mapping, merge, depth)
        return mapping

    def _merge(self, mapping: PosDict, merge: yaml.Node, depth: int) -> None:
        """Apply a `<<` merge key, refusing any key it would set twice.

        YAML 1.1 lets explicit keys win, but Kubernetes' decoder (go-yaml v2) applies merges in document
        order, so `privileged: false` followed by `<<: {privileged: true}` is privileged to kubectl. Where
        parsers disagree there is no safe reading: a key set both ways is an error, like a duplicate.
        """
        sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
        merged_at: dict[str, int] = {}
        for source in sources:
            merged = self.convert(source, depth + 1)
            line = _position(source)[0]
            if not isinstance(merged, PosDict):
                raise InputError(f"line {line}: merge key '<<' needs a mapping")
            for key, value in merged.items():
                if key in merged_at:
                    raise InputError(f"line {line}: key '{key}' is merged twice by '<<' (first at line"
                                     f" {merged_at[key]}); {self.readers} disagree on which wins")
                if key in mapping.key_pos:
                    raise InputError(f"line {line}: key '{key}' is set both directly (line"
                                     f" {mapping.key_pos[key][0]}) and by a '<<' merge; {self.readers}"
                                     " disagree on which wins")
                merged_at[key] = line
                mapping.key_pos[key] = merged.key_pos[key]
                mapping[key] = value


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag == _STR_TAG or not tag.startswith(_TAG):
        return node.value
    if tag == _TAG + "bool":
        return _CONSTRUCTOR.construct_yaml_bool(node)
    if tag == _TAG + "int":
        try:
            return _CONSTRUCTOR.construct_yaml_int(node)
        except ValueError:  # e.g. more digits than Python converts (sys.get_int_max_str_digits)
            line, column = _position(node)
            raise InputError(
                f"line {line}, column {column}: integer of {len(node.value)} characters is too long"
            ) from None
    if tag == _TAG + "float":
        return _CONSTRUCTOR.construct_yaml_float(node)
    if tag == _TAG + "null":
        return None
    return node.value  # timestamps, binary: kept as their text, as Kubernetes' decoder does


def load_documents(text: str, wanted: KindFilter | None = None,
                   readers: str = "Kubernetes tools") -> Iterator[Document]:
    """Yield each document of a YAML/JSON stream; raise `InputError` (with a line) on bad input.

    `readers` names the tools the file is meant for, in the error about a key a `<<` merge sets twice.

    With `wanted`, a Kubernetes object whose kind it refuses comes back as `Unconverted(kind)`: the
    stream is still parsed in full (syntax errors still count), but the object is not converted.
    """
    loader = _Loader(text) if len(text) <= C_COMPOSER_MAX_CHARS else _BudgetLoader(text)
    may_alias = "&" in text  # no anchor, no alias: nothing to share
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            kind = _top_level_kind(node) if wanted is not None else None
            if wanted is not None and kind is not None and not wanted(kind):
                content: Any = Unconverted(kind)
            else:
                content = _Converter(aliases=may_alias, readers=readers).convert(node)
            yield Document(index=index, pos=_position(node), content=content)
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputError(f"{where}invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(f"YAML nested too deeply to parse (limit {MAX_DEPTH})") from None
    finally:
        loader.dispose()


def locate(root: Any, path: tuple[str | int, ...]) -> Position | None:
    """Position of the deepest element of `path` that exists under `root` (its key or item)."""
    found: Position | None = getattr(root, "pos", None)
    current = root
    for step in path:
        if isinstance(current, PosDict) and isinstance(step, str):
            place = current.key_pos.get(step)  # its key_pos holds exactly its keys: one look-up tells
            if place is None:
                break
            found = place
            current = current[step]
        elif isinstance(current, PosList) and isinstance(step, int) and 0 <= step < len(current):
            found = current.item_pos[step]
            current = current[step]
        else:
            break
    return found


_RENDERED: dict[tuple[str | int, ...], str] = {}
"""Path -> its rendering: every finding's message names its field, and the same few paths recur."""
_RENDERED_MAX = 10_000


def render_path(path: tuple[str | int, ...]) -> str:
    """`('spec', 'containers', 0, 'image')` -> `spec.containers[0].image`, as kubectl prints paths."""
    out = _RENDERED.get(path)
    if out is not None:
        return out
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    if len(_RENDERED) < _RENDERED_MAX:
        _RENDERED[path] = out
    return out
