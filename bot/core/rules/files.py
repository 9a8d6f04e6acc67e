"""CS3xx: the file itself (encoding, size) and its front matter."""

from __future__ import annotations

from bot.core.context import FileContext
from bot.core.rules.layout import human_size
from bot.core.rules.registry import WARNING, rule


@rule("CS301", "invalid-front-matter", scope="document")
def invalid_front_matter(ctx: FileContext):
    """The front matter is not valid: bad YAML, not a mapping, an unknown key or a wrong type.

    **Why:** the index and the labels are built from the front matter, so it
    has to be machine-readable. Front matter is optional; when present it sits
    between two `---` lines at the very top and may hold only `tags` (a list
    from the vocabulary), `sources` (a list of http(s) URLs) and `authors` (a
    list of names).

    **Bad:**

    ```yaml
    ---
    tag: loss-spikes
    sources: https://arxiv.org/abs/2205.01068
    ---
    ```

    **Good:**

    ```yaml
    ---
    tags: [loss-spikes]
    sources:
      - https://arxiv.org/abs/2205.01068
    authors: [Ada Lovelace]
    ---
    ```
    """
    yield from ctx.meta.problems


@rule("CS302", "unknown-tag", scope="document")
def unknown_tag(ctx: FileContext):
    """A tag that is not in the tag vocabulary of `.github/challenge-bot.yml`.

    **Why:** a small shared vocabulary is what makes tags useful for finding
    every case study about the same kind of failure. Use an existing tag, or
    add the new one to `tags:` in the config in the same pull request.

    **Bad:** `tags: [loss-spike]`

    **Good:** `tags: [loss-spikes]`
    """
    vocabulary = ctx.cfg.tags
    for item in ctx.meta.fields.get("tags", ()):
        if item.value not in vocabulary:
            import difflib  # only needed when there is something to report

            close = difflib.get_close_matches(item.value, vocabulary, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known tags: {', '.join(vocabulary)}"
            yield item.line, f"unknown tag {item.value!r}{hint}"


@rule("CS303", "missing-sources", scope="document", severity=WARNING)
def missing_sources(ctx: FileContext):
    """No `sources` are listed in the front matter.

    **Why:** a case study is only as trustworthy as what it rests on. List the
    paper sections, logbooks and issues the facts come from, so readers can
    check them. This is a warning: it does not fail the check.

    **Bad:** no front matter, or `sources: []`

    **Good:**

    ```yaml
    ---
    sources:
      - https://github.com/facebookresearch/metaseq/blob/main/projects/OPT/chronicles/README.md
    ---
    ```
    """
    meta = ctx.meta
    if not meta.readable or ("sources" in meta.key_lines and "sources" not in meta.fields):
        return  # the front matter or its sources are malformed; CS301 already says so
    if not meta.values("sources"):
        line = meta.key_lines.get("sources", ctx.doc.front_matter.start_line if ctx.doc.front_matter else 1)
        yield line, "no sources listed; add the papers, logbooks or issues this rests on under 'sources:' in the front matter"


@rule("CS304", "not-utf8", scope="bytes")
def not_utf8(ctx: FileContext):
    """The file is not valid UTF-8 text.

    **Why:** GitHub, the index and every reader expect UTF-8. A file in
    another encoding, or binary data saved with a `.md` name, shows up as
    garbage. Re-save the file as UTF-8.

    **Bad:** a file saved as Latin-1 or UTF-16, or an image renamed to `.md`

    **Good:** UTF-8, with or without a byte-order mark
    """
    data = ctx.data
    if data is None:
        return
    if b"\0" in data:
        yield data.count(b"\n", 0, data.index(b"\0")) + 1, "the file contains NUL bytes: it looks binary, not Markdown text"
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield data.count(b"\n", 0, exc.start) + 1, f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"


@rule("CS305", "file-too-large", scope="bytes")
def file_too_large(ctx: FileContext):
    """The file is larger than the configured limit (`limits.max_file_size`, default 256 KiB).

    **Why:** a case study is read by people; a huge file is almost always a
    pasted log or data dump. Link to the log instead, or summarise it.

    **Bad:** a 3 MB case study with a pasted training log

    **Good:** the key lines quoted, and a link to the full log under `sources`
    """
    if ctx.size > ctx.cfg.max_file_size:
        yield 1, f"the file is {human_size(ctx.size)}; the limit is {human_size(ctx.cfg.max_file_size)} (limits.max_file_size)"
