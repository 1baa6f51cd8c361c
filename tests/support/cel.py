"""Evaluate exported admission checks with a CEL implementation (cel-python), as the API server would."""

from __future__ import annotations

from functools import cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celtypes import BoolType, MapType, StringType
from celpy.evaluation import CELEvalError

from gates.checks.manifests.admission import AdmissionCheck

_ENV = celpy.Environment()


@cache
def _program(expression: str) -> Any:
    return _ENV.program(_ENV.compile(expression))


class CelError(Exception):
    """The expression could not be evaluated on this object (the cluster's failurePolicy Fail denies it)."""


def admits(check: AdmissionCheck, obj: dict[str, Any]) -> bool:
    """Whether `check` admits `obj`: its variables evaluated in order, then its validation."""
    activation: dict[str, Any] = {"object": json_to_cel(obj)}
    variables: dict[str, Any] = {}
    for name, expression in check.variables:
        activation["variables"] = MapType(
            {StringType(k): v for k, v in variables.items()})
        variables[name] = _evaluate(expression, activation)
    activation["variables"] = MapType({StringType(k): v for k, v in variables.items()})
    result = _evaluate(check.expression, activation)
    if not isinstance(result, BoolType):
        raise CelError(f"{check.rule}: the validation gave {type(result).__name__}, not a bool")
    return bool(result)


def _evaluate(expression: str, activation: dict[str, Any]) -> Any:
    try:
        result = _program(expression).evaluate(activation)
    except CELEvalError as exc:
        raise CelError(str(exc)[:200]) from None
    if isinstance(result, CELEvalError):
        raise CelError(str(result)[:200])
    return result
