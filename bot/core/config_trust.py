"""The config a pull request is reviewed with when it changes the config or the template.

Its own rules check its own files, so a rule change is tested before it merges: sections,
tags, the template, the index markers and paths, the rules switched off, and the model folders
with their names and papers (the README index they generate). Everything the bot does or
writes beyond findings comes from the base branch, which maintainers have accepted:
links (``docs_url``), labels (their names, colours and descriptions), limits and the review
settings. A limit may only get stricter (a pull request can test a lower one), a model folder
the base does not know gets no label, and nothing else of the pull request's config is
rendered except as inert text (model names in the index preview, values in error messages).
URL values are checked as https URLs by the schema on every branch.
"""

from __future__ import annotations

from types import MappingProxyType

from bot.core.config_model import Config, Model

UNTRUSTED_BASE = Config(sections=(), models=MappingProxyType({}), tags=())  # the defaults: when the base has no usable config


def for_pull_request(head: Config, base: Config | None) -> Config:
    """``head``'s rules under ``base``'s trust (the defaults when the base branch has no valid config)."""
    trusted = base if base is not None else UNTRUSTED_BASE
    models = {folder: _model(model, trusted.models.get(folder)) for folder, model in head.models.items()}
    return head._replace(
        models=MappingProxyType(models),
        docs_url=trusted.docs_url,
        max_file_size=min(head.max_file_size, trusted.max_file_size),
        max_asset_size=min(head.max_asset_size, trusted.max_asset_size),
        asset_types=tuple(t for t in head.asset_types if t in trusted.asset_types),
        review_reporter=trusted.review_reporter,
        review_max_inline_comments=trusted.review_max_inline_comments,
    )


def _model(proposed: Model, trusted: Model | None) -> Model:
    """The pull request's model for checking, with the base branch's label, or none for a new folder."""
    if trusted is None:
        return proposed._replace(label="", description="")  # no label: the bot creates none for it
    return proposed._replace(label=trusted.label, color=trusted.color, description=trusted.description)
