"""REST handlers, one module per area; importing them fills ``registry.HANDLERS``."""

from . import apps, checks, git, issues, pulls, repos  # noqa: F401
from .registry import HANDLERS, flask_rule

__all__ = ["HANDLERS", "flask_rule"]
