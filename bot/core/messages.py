"""User-facing text of the CLI and the bot, in one place."""

from __future__ import annotations

PROG = "challenge-bot"

NO_CONFIG = "no .github/challenge-bot.yml found in {start} or any folder above it; run challenge-bot inside the repository"
UNKNOWN_MODEL = "unknown model {model!r}; known models: {known}"
BAD_TITLE = "the title must be one line of text with at least one letter or digit"
BAD_SLUG = "the file name {slug!r} must be lowercase kebab-case, e.g. loss-spikes-at-80b"
ALREADY_EXISTS = "{path} already exists; pick another title or pass --slug"
CREATED = """Created {path}, id {id}.
Next:
  1. Fill in the sections, replacing the italic guidance, and list your sources and tags in the front matter.
  2. Run `challenge-bot check {path}` until it reports no errors (warnings are advice).
  3. Open a pull request; the bot reviews it and regenerates the index after merge: leave the index to it."""
FIXED = "{path}:{line}: fixed: {description}"
INDEX_UPDATED = "Updated {files}."
INDEX_CURRENT = "The index is up to date."
CONFIG_VALID = "{file} is valid: {sections} sections, {models} models, {tags} tags."
INDEX_STALE = "The index is out of date; run `challenge-bot index` to regenerate it."
INDEX_NOTE = """Note: the index is not regenerated on this branch, and need not be: the bot regenerates it when the branch merges.
{changes}Files it will regenerate: {files}.
(`challenge-bot index` regenerates them now; `challenge-bot check --index` and `challenge-bot index --check` fail while they are stale.)"""
INDEX_NOTE_CHANGE = "  {change:<8} {path}: {title}\n"
INDEX_NOTE_HEAD = "When it merges, the index changes:\n"
INDEX_NOTE_FOOTER = "{path} (footer)"
FIXABLE = "[*] {count} fixable with `challenge-bot check --fix`."
INDEX_BLOCKED = "Nothing was written: fix the findings above, then run `challenge-bot index` again."
FIGURE_DRAWN = "Drew {path}."
FIGURE_STALE = "{path}: out of date; run `challenge-bot figures` to draw it"
FIGURES_DONE = "{drawn} of {total} figures drawn; the rest were up to date."
SITE_BUILT = "Built the site in {path}."
SCREENSHOT_TAKEN = "Saved a screenshot to {path}."
NEEDS_SITE_EXTRA = "this command needs the `site` extra ({module} is missing): pip install -e '.[site]'"
DOCTOR_OK = "No problems found."
DOCTOR_PROBLEMS = "{count} problem(s) found; each line above names the setting or file to fix."
DOCTOR_CONFIG_VALID = "{file} is valid"
DOCTOR_TEMPLATE = "{path} found and read"
DOCTOR_NO_CONFIG = "needs a valid config first"
DOCTOR_NO_APP = "no App settings in the environment (GITHUB_APP_ID, GITHUB_PRIVATE_KEY(_PATH), GITHUB_WEBHOOK_SECRET): fine for the CLI and for Actions alone"
DOCTOR_SETTINGS_FIRST = "needs the App settings first"
DOCTOR_MISSING = "{names} not set: the App cannot talk to GitHub"
DOCTOR_APP_SETTINGS = "App {app_id}, webhook secret and private key set; API {api}"
DOCTOR_STORE = "{location} opened"
DOCTOR_NO_REPO = "pass --repo OWNER/NAME (or set GITHUB_REPOSITORY) to check access to a repository"
DOCTOR_NO_CREDENTIALS = "no credentials in the environment (the App settings, or GITHUB_TOKEN in Actions)"
DOCTOR_APP_REACHED = "App {app_id} is installed on {repo} (installation {installation}) at {api}"
DOCTOR_APP_FAILED = "App {app_id} could not reach {repo} at {api}: {error} (check GITHUB_APP_ID, the private key, GITHUB_API_URL and that the App is installed on {repo})"
DOCTOR_BAD_KEY = "the private key (GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH) cannot sign the App's token: {error}"
DOCTOR_TOKEN_REACHED = "GITHUB_TOKEN can read {repo} (default branch {branch}) at {api}"
DOCTOR_TOKEN_FAILED = "GITHUB_TOKEN could not read {repo} at {api}: {error}"
INTERNAL_ERROR = "internal error: {error}. Please report it; set CHALLENGE_BOT_DEBUG=1 to see the traceback."

# --- the bot on GitHub -----------------------------------------------------------

CHECK_NAME = "challenge-bot"
SUMMARY_MARKER = "<!-- challenge-bot:summary -->"
CHECK_RUN_MARKER = "challenge-bot:"  # starts the external_id of every check run the bot makes
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
NOT_LISTED = "**{hidden} not shown.** This summary lists the first {listed} findings, the Files-changed tab annotates at most {annotated} and comments on at most {inline}, so a review stays within GitHub's limits. Run the command under *Reproduce locally* to see every finding."
REPRODUCE = "### Reproduce locally\n\n```sh\npip install -e . && challenge-bot check {paths}\n```"
REPRODUCE_FIX = "Misnamed headings, missing sections and misspelt tags are fixed for you by {command}, or by applying the suggestions in the review."
PREVIEW_HEAD = "### Index preview\n\nWhen this pull request merges, the bot updates the README index:\n\n| Change | Model | Case study | Summary | Tags |\n| --- | --- | --- | --- | --- |"
PREVIEW_NONE = "### Index preview\n\nThis pull request does not change the README index."
FOOTER = "<sub>This comment is kept up to date on every push. {commands} Rules: {docs}</sub>"
FOOTER_COMMANDS = "Comment {commands}."
FOOTER_COMMAND = {
    "recheck": "`/challenge-bot recheck` to run the review again",
    "regenerate-index": "`/challenge-bot regenerate-index` to regenerate the index (maintainers)",
    "help": "`/challenge-bot help` for help",
}
FOOTER_NO_COMMANDS = "Push a commit to run the review again."
TRUNCATED = "\n\n… (cut to fit GitHub's limit; run the command above to see everything)"
REVIEW_BODY = "challenge-bot found problems on lines of this diff; see the summary comment for the whole list."
INLINE = "**{code} {name}**: {message} ([docs]({url}))"
SUGGESTION = "{fence}suggestion\n{text}\n{fence}"
REVIEW_FAILED_TITLE = "The review could not be completed"
REVIEW_FAILED = "challenge-bot could not finish reviewing commit `{sha}` after {attempts} attempts: {error}. Comment `/challenge-bot recheck` to try again."

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
