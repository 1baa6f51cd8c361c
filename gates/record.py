"""Frozen record classes: what `@dataclass(frozen=True)` makes, without its cost at start-up.

`dataclasses` imports `inspect` (and with it `ast`, `dis`, `tokenize`), and compiles six methods from
source for each class when its module is imported (~0.5 ms a class): the ~35 value types on a manifest
scan's path cost more start-up than the rest of gates' own code. A `@record` class compiles only its
`__init__`, when its first instance is made, which fills the instance's `__dict__` directly (so instances
are cheaper to make too); its `repr`, `==`, `hash` and refused assignment are shared closures with
`dataclasses`' semantics.

To other code a record is a dataclass: `dataclasses.fields`, `replace`, `asdict` and `is_dataclass` see
it (its `__dataclass_fields__` is built, importing `dataclasses`, the first time anything asks), and it
pickles (as its class called with its field values, unless it has a `__post_init__`: quicker to load).
gates' own hot paths use `replace` and `field_names` from here, which never import it.
`tests/core/test_record.py` holds records to `dataclasses`' behaviour.

Only what gates' value types use is supported: fields with a default or a `field(default_factory=...)`,
`ClassVar`s, `__post_init__`, methods, inheritance from other records; anything else is refused when the
class is defined, never half-honoured.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable

from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")
else:  # the decorator only informs type checkers; importing typing_extensions would cost start-up
    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda decorated: decorated


class _ComputedOnce:
    """A record's property computed on its first read and kept in the instance's `__dict__`, where later
    reads find it without a call. Invisible to `==`, `hash`, `repr` and `replace`, which read only the
    fields. An exception is not kept: the next read computes (and raises) again, as a property would.
    `functools.cached_property` without its lock (Python 3.11 takes one per first read), for values that
    are pure functions of the record's fields."""

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.name] = value
        return value


if TYPE_CHECKING:  # typed as what it behaves like
    from functools import cached_property

    computed_once = cached_property
else:
    computed_once = _ComputedOnce


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""No default (the role of `dataclasses.MISSING`)."""
_FACTORY = _Missing()
"""The `__init__` default of a field with a factory: the factory is called when nothing else is given."""


class _Spec:
    """A field's default or factory, as `field()` declares it in a class body."""

    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Any) -> None:
        self.default = default
        self.default_factory = default_factory


if TYPE_CHECKING:
    @overload
    def field(*, default_factory: Callable[[], _T]) -> _T: ...
    @overload
    def field(*, default: _T) -> _T: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A record field's default, or the factory that makes a fresh one for each instance."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Spec(default, default_factory)


class _Field:
    """What a record knows of one field."""

    __slots__ = ("annotation", "default", "default_factory", "name")

    def __init__(self, name: str, annotation: object, default: Any, default_factory: Any) -> None:
        self.name, self.annotation, self.default, self.default_factory = name, annotation, default, default_factory


def _dataclass_spec(declared: object) -> _Spec | None:
    """A `dataclasses.field(...)` in a record's body, read as its default or factory (other options refused)."""
    dataclasses = sys.modules.get("dataclasses")  # such a value exists only if dataclasses is imported
    if dataclasses is None or not isinstance(declared, dataclasses.Field):
        return None
    plain = dataclasses.field()
    for option in ("init", "repr", "hash", "compare", "metadata", "kw_only"):
        if getattr(declared, option) != getattr(plain, option):
            raise TypeError(f"a record does not support field({option}=...)")
    return _Spec(declared.default if declared.default is not dataclasses.MISSING else MISSING,
                 declared.default_factory if declared.default_factory is not dataclasses.MISSING else MISSING)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _own_fields(cls: type) -> list[_Field]:
    """The fields `cls` declares itself, its class attributes left as dataclasses leaves them."""
    fields: list[_Field] = []
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs start-up
    for name, annotation in annotations.items():
        if _is_classvar(annotation):
            continue
        declared = cls.__dict__.get(name, MISSING)
        spec = declared if isinstance(declared, _Spec) else _dataclass_spec(declared)
        if spec is None:
            spec = _Spec(declared, MISSING)
        elif spec.default is MISSING:
            delattr(cls, name)  # as dataclasses: a field with a factory (or none) has no class attribute
        else:
            setattr(cls, name, spec.default)
        if spec.default is not MISSING and type(spec.default).__hash__ is None:
            raise ValueError(f"mutable default {type(spec.default)} for field {name} is not allowed:"
                             " use default_factory")
        fields.append(_Field(name, annotation, spec.default, spec.default_factory))
    return fields


def _init_source(fields: list[_Field], post_init: bool) -> str:
    params, lines, seen_default = ["self"], ["    _state = self.__dict__"], False
    for spec in fields:
        name = spec.name
        if spec.default is not MISSING:
            params.append(f"{name}=_default_{name}")
        elif spec.default_factory is not MISSING:
            params.append(f"{name}=_FACTORY")
        elif seen_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        else:
            params.append(name)
        seen_default = seen_default or spec.default is not MISSING or spec.default_factory is not MISSING
        value = f"_factory_{name}() if {name} is _FACTORY else {name}" if spec.default_factory is not MISSING else name
        lines.append(f"    _state[{name!r}] = {value}")
    if post_init:
        lines.append("    self.__post_init__()")
    return f"def __init__({', '.join(params)}):\n" + "\n".join(lines) + "\n"


def _compile_init(cls: type, source: str, scope: dict[str, Any]) -> Callable[..., None]:
    """The record's own `__init__`, compiled from `source` and put on the class in place of the stand-in."""
    exec(source, scope)  # noqa: S102 - gates' own field names
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    type.__setattr__(cls, "__init__", init)
    return init


def _values(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """An instance's field values as a tuple, as dataclasses compare and hash them."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def _frozen_error(message: str) -> Exception:
    from dataclasses import FrozenInstanceError  # raised as dataclasses raise it; only on a bug

    return FrozenInstanceError(message)


class _DataclassFields:
    """`__dataclass_fields__`, built as `dataclasses.Field`s (importing dataclasses) on first use."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner

    def __get__(self, instance: object, owner: type | None = None) -> dict[str, Any]:
        import dataclasses

        owner = owner or type(instance)
        built = {}
        for spec in owner.__record_fields__:  # type: ignore[attr-defined]
            made: Any = dataclasses.field() if spec.default is MISSING and spec.default_factory is MISSING else (
                dataclasses.field(default_factory=spec.default_factory) if spec.default is MISSING
                else dataclasses.field(default=spec.default))
            made.name, made.type = spec.name, spec.annotation
            made._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # what `fields()` lists
            built[spec.name] = made
        type.__setattr__(owner, "__dataclass_fields__", built)  # built once per class
        return built


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T]) -> type[_T]:
    """Make `cls` a frozen record: what `@dataclass(frozen=True)` makes of it."""
    by_name: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        if "__dataclass_fields__" in base.__dict__ and "__record_fields__" not in base.__dict__:
            raise TypeError(f"{cls.__qualname__}: a record cannot extend the dataclass {base.__qualname__}")
        by_name.update((spec.name, spec) for spec in base.__dict__.get("__record_fields__", ()))
    by_name.update((spec.name, spec) for spec in _own_fields(cls))
    fields = list(by_name.values())
    names = tuple(spec.name for spec in fields)
    for name in ("__setattr__", "__delattr__"):
        if name in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")

    scope: dict[str, Any] = {"_FACTORY": _FACTORY}
    for spec in fields:
        scope[f"_default_{spec.name}"] = spec.default
        scope[f"_factory_{spec.name}"] = spec.default_factory
    source = _init_source(fields, hasattr(cls, "__post_init__"))  # refuses a bad field order here, at definition

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # Compiled at the first instance, not at import: most record classes of a run never make one, and
        # compiling every `__init__` was two thirds of the records' start-up (~5 ms of a one-file scan).
        init = scope.get("__init__") or _compile_init(cls, source, scope)
        init(self, *args, **kwargs)

    values = _values(names)
    frozen = frozenset(names)

    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, values(self), strict=True))
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(values(self) == values(other))
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(values(self))

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in frozen:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in frozen:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    class_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in cls.__dict__))
    methods: dict[str, Callable[..., Any]] = {"__init__": __init__, "__repr__": __repr__,
                                             "__eq__": __eq__, "__setattr__": __setattr__,
                                             "__delattr__": __delattr__}
    if not explicit_hash:
        methods["__hash__"] = __hash__
    own_pickling = ("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")
    if not hasattr(cls, "__post_init__") and not any(name in cls.__dict__ for name in own_pickling):
        def __reduce_ex__(self: Any, protocol: int) -> Any:
            """Pickled as the class called with the field values: unpickled by the one `__init__` call, where
            a state dict is built and copied (worker processes send every result and finding this way)."""
            if type(self) is not cls:  # a subclass that is no record: pickled as Python pickles objects
                return object.__reduce_ex__(self, protocol)
            return cls, values(self)

        methods["__reduce_ex__"] = __reduce_ex__
    for name, method in methods.items():
        if name in cls.__dict__ and name != "__hash__":
            continue  # a method the class writes itself wins, as with dataclasses
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    setattr(cls, "__record_fields__", tuple(fields))  # noqa: B010 - not an attribute of type[_T]
    lazy = _DataclassFields()
    setattr(cls, "__dataclass_fields__", lazy)  # noqa: B010
    lazy.__set_name__(cls, "__dataclass_fields__")
    setattr(cls, "__match_args__", names)  # noqa: B010
    if cls.__doc__ is None:
        cls.__doc__ = f"{cls.__name__}({', '.join(names)})"
    return cls


def field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a record class, in order, or None if it is not one."""
    specs = kind.__dict__.get("__record_fields__") if isinstance(kind, type) else None
    return None if specs is None else tuple(spec.name for spec in specs)


def replace(obj: _T, /, **changes: Any) -> _T:
    """`obj` with `changes`, as `dataclasses.replace` makes it (for records, without importing dataclasses)."""
    specs = type(obj).__dict__.get("__record_fields__")
    if specs is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    state = obj.__dict__
    return type(obj)(**{spec.name: changes.pop(spec.name) if spec.name in changes else state[spec.name]
                        for spec in specs}, **changes)
