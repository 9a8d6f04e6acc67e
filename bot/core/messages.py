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

# --- the bot on GitHub -----------------------------------------------------------

CHECK_NAME = "challenge-bot"
SUMMARY_MARKER = "<!-- challenge-bot:summary -->"
FINGERPRINT_PREFIX = "<!-- challenge-bot:fp="
FINGERPRINT = FINGERPRINT_PREFIX + "{fp} -->"
REPLY_MARKER = "<!-- challenge-bot:reply to={comment} command={command} -->"
INDEX_COMMIT_MARKER = "[challenge-bot]"
INDEX_COMMIT_MESSAGE = "Regenerate the case-study index " + INDEX_COMMIT_MARKER
INDEX_BRANCH = "challenge-bot/index"

TITLE_FAIL = "{problems} in {files}"
TITLE_WARN = "{problems} (no errors) in {files}"
TITLE_PASS = "All clear: {files} checked"
TITLE_NOTHING = "No case studies changed"
TITLE_CONFIG = "The bot's configuration is invalid"

HEADER_FAIL = "## ❌ challenge-bot found {problems}"
HEADER_WARN = "## ⚠️ challenge-bot found {problems}, nothing blocking"
HEADER_PASS = "## ✅ challenge-bot: all checks passed"
HEADER_NOTHING = "## ✅ challenge-bot: nothing to check"
CHECKED_AT = "Checked commit `{sha}` of this pull request: {files}."  # files: "3 files", changed or (rules changed) all
NOTHING_CHANGED = "Commit `{sha}` changes no files under `{folder}/`."
CONFIG_BROKEN = "The configuration the review needs could not be read at commit `{sha}`:\n\n> {error}\n\nFix `.github/challenge-bot.yml` (or the template it names); every case study is checked against it."
TABLE_HEAD = "| Line | Rule | Problem | How to fix |\n| ---: | --- | --- | --- |"
REPRODUCE = "### Reproduce locally\n\n```sh\npip install -e . && challenge-bot check {paths}\n```"
REPRODUCE_FIX = "Misnamed headings and missing sections are fixed for you by {command}, or by applying the suggestions in the review."
PREVIEW_HEAD = "### Index preview\n\nWhen this pull request merges, the bot updates the README index:\n\n| Change | Model | Case study | Summary | Tags |\n| --- | --- | --- | --- | --- |"
PREVIEW_NONE = "### Index preview\n\nThis pull request does not change the README index."
FOOTER = "<sub>This comment is kept up to date on every push. Comment `/challenge-bot recheck` to run the review again. Rules: {docs}</sub>"
TRUNCATED = "\n\n… (cut to fit GitHub's limit; run the command above to see everything)"
REVIEW_BODY = "challenge-bot found problems on lines of this diff; see the summary comment for the whole list."
INLINE = "**{code} {name}**: {message} ([docs]({url}))"
SUGGESTION = "```suggestion\n{text}\n```"
REVIEW_FAILED_TITLE = "The review could not be completed"
REVIEW_FAILED = "challenge-bot could not finish reviewing commit `{sha}` after {attempts} attempts: {error}. Comment `/challenge-bot recheck` to try again."

FIX_HINTS = {
    "CS101": "move it to `case_studies/<model>/<file>.md`",
    "CS102": "use a registered model folder, or add the model to `.github/challenge-bot.yml`",
    "CS103": "rename the file to lowercase-kebab-case `.md`",
    "CS104": "remove the file, or put an allowed image in `<model>/assets/`",
    "CS201": "add a `# Title` line above the first section",
    "CS202": "make it a `###` subheading inside a section",
    "CS203": "add the section (`challenge-bot check --fix` inserts it)",
    "CS204": "move the section to its place in the order",
    "CS205": "merge the two sections into one",
    "CS206": "write what is known, or say why nothing is",
    "CS207": "use one of the five sections, or make it a `###` subheading",
    "CS208": "apply the suggestion, or run `challenge-bot check --fix`",
    "CS209": "replace the template's guidance with your own text",
    "CS301": "fix the front matter (only `tags`, `sources`, `authors`, each a list)",
    "CS302": "use a tag from the vocabulary, or add it to `.github/challenge-bot.yml`",
    "CS303": "list the papers, logbooks or issues under `sources:`",
    "CS304": "save the file as UTF-8 text",
    "CS305": "shorten it; link to long logs instead of pasting them",
    "CS401": "run `challenge-bot index`, or leave it to the bot after merge",
    "CS402": "restore the index markers in the README",
}

# --- comment commands ---------------------------------------------------------------

COMMAND_PREFIX = "/challenge-bot"
COMMANDS = """- `/challenge-bot recheck`: review this pull request again.
- `/challenge-bot regenerate-index`: regenerate the README index now (needs write access to the repository).
- `/challenge-bot help`: show this message."""
HELP = "{marker}\n@{user}, I know these commands (each on a line of its own):\n\n" + COMMANDS
UNKNOWN_COMMAND = "{marker}\n@{user}, I don't know the command `{command}`. I know these (each on a line of its own):\n\n" + COMMANDS
REFUSED = "{marker}\n@{user}, sorry: `/challenge-bot {command}` needs write, maintain or admin permission on this repository, and yours is `{permission}`. A maintainer can run it for you."
RECHECK_NOT_A_PR = "{marker}\n@{user}, `/challenge-bot recheck` works on pull requests only."
RECHECK_REPLIES = {
    "reviewed": "{marker}\n@{user}, I reviewed commit `{sha}` again; the summary comment is up to date.",
    "stale": "{marker}\n@{user}, commit `{sha}` is no longer the head of this pull request; the newer commit gets its own review.",
    "closed": "{marker}\n@{user}, this pull request is closed, so there is nothing to review.",
}
RECHECK_NOT_DONE = "{marker}\n@{user}, I did not review commit `{sha}`: {outcome}."
INDEX_DONE_COMMIT = "{marker}\n@{user}, I regenerated the index: commit `{sha}` on `{branch}`."
INDEX_DONE_PR = "{marker}\n@{user}, `{branch}` is protected, so the regenerated index is in pull request #{number}."
INDEX_FAILED = "{marker}\n@{user}, I could not regenerate the index: {error}"
INDEX_DONE_UNCHANGED = "{marker}\n@{user}, the index on `{branch}` is already up to date; nothing to commit."
INDEX_PR_TITLE = "Regenerate the case-study index"
INDEX_PR_BODY = "The README index and `case_studies/index.json` are generated from the case studies by challenge-bot. `{branch}` is protected, so the bot proposes the update here; this pull request is updated in place whenever the index changes again.\n\nGenerated from commit `{sha}`."
