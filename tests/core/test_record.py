"""`gates.record.record` behaves as `@dataclass(frozen=True)` does, to every caller.

Each case defines the same class both ways and holds the record to the dataclass: construction,
defaults and factories, repr, equality, hashing, `dataclasses.fields`/`replace`/`asdict`, pickling,
refused assignment, and the errors of a wrong definition or call.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from gates.record import record


def _both(body: str) -> tuple[type, type]:
    """The class `C` of `body`, once as a frozen dataclass and once as a record."""
    made = []
    for decorator in ("dataclasses.dataclass(frozen=True)", "record"):
        scope: dict[str, Any] = {"dataclasses": dataclasses, "record": record, "field": dataclasses.field,
                                 "ClassVar": ClassVar, "__name__": __name__}
        exec(f"@{decorator}\n{body}", scope)  # noqa: S102 - the same class, built both ways
        made.append(scope["C"])
    return made[0], made[1]


PLAIN = '''class C:
    """doc"""
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()
    d: dict[str, int] = field(default_factory=dict)
    e: ClassVar[int] = 7
'''

CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1,), {}), ((1, "x"), {}), ((1,), {"c": (2, 3)}), ((), {"a": 5, "d": {"k": 1}}), ((1, "x", (4,), {"z": 2}), {}),
]


def _outcome(make: Callable[[], Any]) -> tuple[str, str]:
    try:
        return "ok", repr(make())
    except Exception as exc:  # the same kind of error is what is compared
        return type(exc).__name__, ""


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_construction_repr_and_fields_match(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    reference, candidate = _both(PLAIN)
    ref, rec = reference(*args, **kwargs), candidate(*args, **kwargs)
    assert repr(rec) == repr(ref)
    assert rec.__dict__ == ref.__dict__
    assert [(f.name, f.type, f.default, f.default_factory) for f in dataclasses.fields(rec)] == \
        [(f.name, f.type, f.default, f.default_factory) for f in dataclasses.fields(ref)]
    assert dataclasses.asdict(rec) == dataclasses.asdict(ref)
    assert dataclasses.astuple(rec) == dataclasses.astuple(ref)
    assert dataclasses.is_dataclass(rec) and dataclasses.is_dataclass(candidate)
    assert candidate.__match_args__ == reference.__match_args__  # type: ignore[attr-defined]


def test_bad_calls_fail_alike() -> None:
    reference, candidate = _both(PLAIN)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}), ((1, "x", (), {}, 5), {}), ((1,), {"zz": 1}), ((1,), {"a": 2})]
    for args, kwargs in calls:
        made = _outcome(lambda a=args, k=kwargs: candidate(*a, **k))  # type: ignore[misc]
        assert made == _outcome(lambda a=args, k=kwargs: reference(*a, **k))  # type: ignore[misc]
        assert made[0] == "TypeError"


def test_each_instance_gets_its_own_factory_value_and_class_attributes_match() -> None:
    reference, candidate = _both(PLAIN)
    first, second = candidate(1), candidate(2)
    assert first.d == {} and first.d is not second.d
    for name in ("a", "b", "c", "d", "e"):
        assert (name in vars(candidate), getattr(candidate, name, None)) == \
            (name in vars(reference), getattr(reference, name, None))


def test_equality_and_hash_match() -> None:
    reference, candidate = _both("class C:\n    a: int\n    b: tuple[str, ...] = ()\n")
    assert candidate(1, ("x",)) == candidate(1, ("x",))
    assert candidate(1) != candidate(2)
    assert candidate(1) != reference(1)  # another class, even with the same fields
    assert (candidate(1) == (1, ())) is False
    assert hash(candidate(1, ("x",))) == hash(reference(1, ("x",)))
    assert len({candidate(1), candidate(1), candidate(2)}) == 2
    one_field_ref, one_field = _both("class C:\n    a: int\n")
    assert hash(one_field(3)) == hash(one_field_ref(3))
    empty_ref, empty = _both("class C:\n    pass\n")
    assert empty() == empty() and hash(empty()) == hash(empty_ref()) and repr(empty()) == repr(empty_ref())


def test_replace_and_pickle() -> None:
    _, candidate = _both(PLAIN)
    value = candidate(1, "x", (2,), {"k": 3})
    changed = dataclasses.replace(value, b="y")
    assert (changed.a, changed.b, changed.c, changed.d) == (1, "y", (2,), {"k": 3})
    with pytest.raises(TypeError):
        dataclasses.replace(value, nope=1)
    globals()["C"] = candidate  # pickle finds the class by module and name
    try:
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
    finally:
        del globals()["C"]


def test_assignment_and_deletion_are_refused() -> None:
    _, candidate = _both(PLAIN)
    value = candidate(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
        value.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.other = 2
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'a'"):
        del value.a
    assert value.a == 1


def test_post_init_methods_and_inheritance() -> None:
    body = '''class Base:
    a: int
    b: int = 2

    def total(self) -> int:
        return self.a + self.b

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("negative")

C = None
'''
    scope: dict[str, Any] = {"__name__": __name__}
    exec(body, scope)  # noqa: S102 - a test class
    base = record(scope["Base"])

    class Child(base):  # type: ignore[misc, valid-type]
        c: str = "c"

    child = record(Child)
    value = child(1, c="z")
    assert (value.a, value.b, value.c, value.total()) == (1, 2, "z", 3)
    assert [f.name for f in dataclasses.fields(value)] == ["a", "b", "c"]
    assert repr(value).endswith("Child(a=1, b=2, c='z')")
    with pytest.raises(ValueError, match="negative"):
        child(-1)


def test_methods_the_class_writes_itself_are_kept() -> None:
    reference, candidate = _both('''class C:
    a: int

    def __repr__(self) -> str:
        return "mine"

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__
''')
    assert repr(candidate(1)) == "mine" == repr(reference(1))
    assert candidate(1) == 5
    value = candidate(1)
    assert hash(value) == object.__hash__(value)


@pytest.mark.parametrize("body", [
    "class C:\n    a: list[int] = []\n",
    "class C:\n    a: int = 1\n    b: int\n",
    "class C:\n    a: int = field(default=1, repr=False)\n",
    "class C:\n    a: int = field(default=1, compare=False)\n",
    "class C:\n    a: int\n    def __setattr__(self, name: str, value: object) -> None: ...\n",
])
def test_definitions_dataclasses_refuse_or_records_do_not_support_are_refused(body: str) -> None:
    scope: dict[str, Any] = {"record": record, "field": dataclasses.field, "__name__": __name__}
    with pytest.raises((TypeError, ValueError)):
        exec(f"@record\n{body}", scope)  # noqa: S102 - a test class


def test_the_module_s_own_field_and_replace_match_dataclasses() -> None:
    from gates.record import field, field_names, replace

    @record
    class Own:
        a: int
        b: dict[str, int] = field(default_factory=dict)
        c: str = field(default="c")

    value = Own(1)
    assert (value.b, value.c, Own.c, hasattr(Own, "b")) == ({}, "c", "c", False)
    assert field_names(Own) == ("a", "b", "c") and field_names(int) is None
    assert replace(value, c="d") == dataclasses.replace(value, c="d") == Own(1, {}, "d")
    with pytest.raises(TypeError):
        replace(value, nope=1)
    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=dict)  # type: ignore[call-overload]
    plain = dataclasses.make_dataclass("Plain", [("x", int)], frozen=True)
    assert replace(plain(1), x=2) == plain(2)  # a dataclass goes to dataclasses.replace


def test_init_is_compiled_at_the_first_instance_and_refuses_as_before() -> None:
    @record
    class Lazy:
        a: int
        b: str = "b"

    stand_in = Lazy.__init__
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Lazy()  # type: ignore[call-arg]
    assert Lazy.__init__ is not stand_in and Lazy.__init__.__qualname__.endswith("Lazy.__init__")
    assert Lazy(1) == Lazy(a=1, b="b") and stand_in(object.__new__(Lazy), 2) is None  # an old reference still works
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        Lazy(1, c=2)  # type: ignore[call-arg]
