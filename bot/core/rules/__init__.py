"""All rules, registered on import. See ``registry`` for how a rule is written."""

from bot.core.rules import figures, files, ids, index, layout, structure  # noqa: F401  (registers the rules)
from bot.core.rules.registry import ERROR, REGISTRY, WARNING, Problem, Rule, RegistryError, by_scope, lookup

__all__ = ["ERROR", "REGISTRY", "WARNING", "Problem", "Rule", "RegistryError", "by_scope", "lookup"]
