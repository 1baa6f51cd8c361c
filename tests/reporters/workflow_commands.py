"""How GitHub's runner reads workflow commands out of a step's log, to check what gates prints.

Follows actions/runner (ActionCommandManager.TryProcessCommand, ActionCommand.TryParseV2/TryParse),
made stricter where that is cheap, so a pass here means a pass there: every command name counts as
registered, every Unicode line break starts a line, and all Unicode whitespace is trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""
    line: str = ""


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for escaped, raw in mappings:
        text = text.replace(escaped, raw)
    return text


_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def parse_line(line: str) -> Command | None:
    """The command a line holds: `::name props::data` after leading whitespace, else `##[name props]data`."""
    trimmed = line.lstrip()
    if trimmed.startswith("::"):
        end = trimmed.find("::", 2)
        if end >= 0:
            info = trimmed[2:end]
            name, _, props_text = info.partition(" ")
            if name:
                props = {}
                for pair in filter(None, props_text.strip().split(",")):
                    key, sep, value = pair.partition("=")
                    if sep and key and value:
                        props[key] = _unescape(value, _PROPERTY)
                return Command(name, props, _unescape(trimmed[end + 2:], _DATA), line)
    start = line.find("##[")
    if start >= 0:
        close = line.find("]", start)
        if close >= 0:
            name, _, props_text = line[start + 3:close].partition(" ")
            if name:
                props = {}
                for pair in filter(None, props_text.split(";")):
                    key, sep, value = pair.partition("=")
                    if sep and key and value:
                        props[key] = _unescape(value, _LEGACY)
                return Command(name, props, _unescape(line[close + 1:], _LEGACY), line)
    return None


def processed_commands(log: str) -> list[Command]:
    """The commands the runner would act on, in order; `stop-commands` pauses until its token comes back."""
    acted: list[Command] = []
    token: str | None = None
    for line in log.splitlines():
        command = parse_line(line)
        if command is None:
            continue
        if token is not None:
            if command.name.lower() == token.lower():
                token = None
            continue
        if command.name.lower() == "stop-commands":
            token = command.data
            continue
        acted.append(command)
    return acted
