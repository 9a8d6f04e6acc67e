"""User-facing text of the CLI and the bot, in one place."""

from __future__ import annotations

PROG = "challenge-bot"

NO_CONFIG = "no .github/challenge-bot.yml found in {start} or any folder above it; run challenge-bot inside the repository"
UNKNOWN_MODEL = "unknown model {model!r}; known models: {known}"
BAD_TITLE = "the title must be one line of text with at least one letter or digit"
BAD_SLUG = "the file name {slug!r} must be lowercase kebab-case, e.g. loss-spikes-at-80b"
ALREADY_EXISTS = "{path} already exists; pick another title or pass --slug"
CREATED = """Created {path}.
Next:
  1. Fill in the five sections, replacing the italic guidance, and list your sources in the front matter.
  2. Run `challenge-bot check {path}` until it reports no problems.
  3. Open a pull request; the bot reviews it and regenerates the index after merge."""
FIXED = "{path}:{line}: fixed: {description}"
INDEX_UPDATED = "Updated {files}."
INDEX_CURRENT = "The index is up to date."
INDEX_STALE = "The index is out of date; run `challenge-bot index` to regenerate it."
INTERNAL_ERROR = "internal error: {error}. Please report it; set CHALLENGE_BOT_DEBUG=1 to see the traceback."
