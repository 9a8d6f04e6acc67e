"""All rules, registered on import. See ``registry`` for how a rule is written."""

from bot.core.rules import files, index, layout, structure  # noqa: F401  (registers the rules)
from bot.core.rules.registry import ERROR, REGISTRY, WARNING, Rule, RegistryError, by_scope

__all__ = ["ERROR", "REGISTRY", "WARNING", "Rule", "RegistryError", "by_scope"]
