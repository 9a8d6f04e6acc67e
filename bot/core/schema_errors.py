"""The two exceptions ``bot/core/config_validator.py`` raises and catches, defined here.

fastjsonschema generates that validator, and the code it writes imports these from its own
package: the compiler, ``ipaddress``, ``decimal`` and the rest, 3 ms of a one-file check's
start for two exception classes. ``config_schema.validator_code`` points the import here.
The constructors take what fastjsonschema's generated code passes them (a test compares the
signatures), and carry what ``bot.core.config`` reads from a failure.
"""

from __future__ import annotations

from typing import Any


class JsonSchemaValueException(ValueError):
    """One value breaks one rule of the schema: ``name`` is its path (``data.models.meta.color``)."""

    def __init__(self, message: str, value: Any = None, name: str | None = None, definition: Any = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule


class JsonSchemaValuesException(ValueError):
    """Several failures at once (fastjsonschema's mode without fast failure; caught, never raised, here)."""

    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        self.message = "; ".join(error.message for error in errors)
        super().__init__(self.message)
        self.errors = errors
