"""The options a user sets, declared once as fields of the config dataclasses.

A field made with ``option(...)`` is a keyword of ``Study.create`` and (unless
it is a table) a key of a spec's ``[study]`` table; its default is the one
default of that option, and ``types``/``what`` say what a spec may give.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, Field
from typing import Any

_OPTION = "option"


def option(default: Any = MISSING, *, factory: Any = MISSING, types: tuple = (),
           what: str = "") -> Any:
    """A dataclass field that users set: ``types`` and ``what`` describe the values a
    spec may give (e.g. ``(int,), "an integer"``)."""
    return dataclasses.field(default=default, default_factory=factory,
                             metadata={_OPTION: (types, what)})


def option_fields(cls) -> dict[str, Field]:
    """The user-set fields of the config dataclass ``cls``, by name, in field order."""
    return {f.name: f for f in dataclasses.fields(cls) if _OPTION in f.metadata}


def option_types(f: Field) -> tuple[tuple, str]:
    """The accepted types and their description of the option field ``f``."""
    return f.metadata[_OPTION]


def field_default(f: Field) -> Any:
    """The default of field ``f`` (a fresh one when it has a factory)."""
    return f.default_factory() if f.default is MISSING else f.default
