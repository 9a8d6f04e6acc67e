"""The static site, planned from the same files as the index: which pages, their Markdown, the nav.

Pure: the caller hands in the records, the text of every case study and model overview, and
the names of the files to copy (figures, assets, the dataset); ``plan`` returns every page's
Markdown and the MkDocs configuration. ``bot.local.site`` writes them to a temporary folder
and runs MkDocs (Material theme, its tags and search plugins). The sources are never edited:
links are rewritten in the copies, so a relative link that works on GitHub works on the site,
and a link to a file the site does not carry goes to that file on GitHub.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Iterable, Mapping, NamedTuple

import yaml

from bot.core import footer
from bot.core.config_model import Config
from bot.core.index import Record, sort_records
from bot.core.mdtext import table_cell

SITE_NAME = "Pretraining Challenges"
STYLESHEET = "stylesheets/site.css"
# Two fixes to the theme for WCAG 2.1 AA (axe-core): links inside running text are underlined, so
# they do not rely on colour alone; the footer's small print gets enough contrast on its dark ground.
SITE_CSS = """.md-typeset :is(p, li, td) > a:not(.md-tag) {
  text-decoration: underline;
  text-underline-offset: 0.15em;
}
.md-copyright {
  color: var(--md-footer-fg-color--light);
}
"""
DATA_DIR = "data"
TAGS_DIR = "tags"
RELATED_LIMIT = 5
_REPO = re.compile(r"(https://github\.com/[^/\s]+/[^/\s]+)/blob/([^/\s]+)/")
_LINK = re.compile(r"(!?\[(?:[^\]\\]|\\.)*\])\(\s*<?([^)\s>]+)>?(\s+\"[^\"]*\")?\s*\)")
_REFDEF = re.compile(r"^( {0,3}\[[^\]]+\]:\s*)(\S+)(.*)$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class Repo(NamedTuple):
    """Where the sources live on GitHub, for source links and links to files the site does not carry."""

    url: str  # https://github.com/owner/name
    branch: str

    @property
    def pages_url(self) -> str:
        owner, name = self.url.rstrip("/").split("/")[-2:]
        return f"https://{owner.lower()}.github.io/{name}/"

    def blob(self, path: str) -> str:
        return f"{self.url}/blob/{self.branch}/{path}"


def repo_of(cfg: Config) -> Repo:
    """The repository, read from the docs URL in the config (``https://github.com/o/n/blob/<branch>/...``)."""
    found = _REPO.match(cfg.docs_url)
    return Repo(found.group(1), found.group(2)) if found else Repo("https://github.com/pretraining-challenges/pretraining-challenges", "main")


class Tag(NamedTuple):
    name: str
    group: str | None = None
    definition: str | None = None


def tags_of(cfg: Config) -> list[Tag]:
    """The tag vocabulary: plain names today, ``{name, group, definition}`` entries when the config has them."""
    out = []
    for entry in cfg.tags:
        if isinstance(entry, str):
            out.append(Tag(entry))
        elif isinstance(entry, Mapping):
            out.append(Tag(str(entry["name"]), entry.get("group"), entry.get("definition")))
        else:
            out.append(Tag(str(getattr(entry, "name")), getattr(entry, "group", None), getattr(entry, "definition", None)))
    return out


class Study(NamedTuple):
    """A case study as the site needs it: its record, its Markdown and its optional fields."""

    record: Record
    text: str
    id: str | None
    related: tuple[str, ...]


class Inputs(NamedTuple):
    cfg: Config
    records: list[Record]
    texts: Mapping[str, str]  # repository path -> text: case studies, model READMEs, the README
    files: tuple[str, ...]  # repository paths of other files the site carries: figures, assets, the dataset


class Plan(NamedTuple):
    pages: dict[str, str]  # docs path -> Markdown
    copies: dict[str, str]  # docs path -> repository path (copied byte for byte)
    config: dict[str, Any]  # mkdocs.yml, without docs_dir and site_dir


def docs_path(path: str, cfg: Config) -> str | None:
    """Where a repository file appears on the site (None when the site does not carry it)."""
    base = cfg.case_studies_dir.strip("/") + "/"
    if path == cfg.readme:
        return "index.md"
    if path == cfg.index_json or (path.startswith(base) and posixpath.dirname(path) + "/" == base and path.rsplit("/", 1)[-1].startswith("index.")):
        return f"{DATA_DIR}/{posixpath.basename(path)}"
    if not path.startswith(base):
        return None
    inner = path[len(base):]
    parts = inner.split("/")
    if len(parts) == 1 and parts[0] in cfg.models:
        return f"{parts[0]}/index.md"
    if len(parts) == 2 and parts[1] == "README.md":
        return f"{parts[0]}/index.md"
    return inner


def plan(inputs: Inputs) -> Plan:
    cfg, repo = inputs.cfg, repo_of(inputs.cfg)
    studies = [_study(r, inputs.texts.get(r.path, "")) for r in sort_records(inputs.records, cfg)]
    carried = {p for p in inputs.texts if docs_path(p, cfg)} | set(inputs.files)
    pages: dict[str, str] = {"index.md": home(inputs, studies, repo)}
    for folder, model in cfg.models.items():
        readme = f"{cfg.case_studies_dir}/{folder}/README.md"
        mine = [s for s in studies if s.record.model == folder]
        if readme in inputs.texts:
            text = rewrite_links(_strip_front_matter(inputs.texts[readme]), readme, cfg, carried, repo)
            pages[f"{folder}/index.md"] = text.rstrip("\n") + "\n\n" + _source_line(readme, repo)
        else:
            pages[f"{folder}/index.md"] = _model_page(model.name, model.paper, mine)
        for study in mine:
            pages[docs_path(study.record.path, cfg) or study.record.path] = case_study_page(study, studies, inputs, carried, repo)
    pages[f"{TAGS_DIR}/index.md"] = tags_page(tags_of(cfg), studies)
    for tag in tags_of(cfg):
        pages[f"{TAGS_DIR}/{tag.name}.md"] = tag_page(tag, studies)
    pages[f"{DATA_DIR}/index.md"] = data_page(inputs, repo)
    pages[STYLESHEET] = SITE_CSS
    copies = {docs_path(p, cfg) or p: p for p in inputs.files}
    return Plan(pages, copies, mkdocs_config(cfg, repo, studies))


def _study(record: Record, text: str) -> Study:
    meta = _front_matter(text)
    ident = getattr(record, "id", None) or meta.get("id")
    related = getattr(record, "related", None) or meta.get("related") or ()
    return Study(record, text, str(ident) if ident else None, tuple(str(r) for r in related if r))


def _front_matter(text: str) -> dict:
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    try:
        data = yaml.safe_load(text[3:end]) if end > 0 else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _strip_front_matter(text: str) -> str:
    if text.startswith("---"):
        end = re.search(r"^---\s*$", text[3:], flags=re.M)
        if end:
            return text[3 + end.end():].lstrip("\n")
    return text


def strip_footer(markdown: str) -> str:
    """The case study without the footer ``challenge-bot index`` writes for GitHub readers (id, tags,
    related): the site shows the same facts its own way, with links that work on the site."""
    lines = markdown.split("\n")
    found = footer.locate(lines)
    if found is None:
        return markdown
    rest = lines[: found.start - 1] + (lines[found.end :] if found.end else [])
    return "\n".join(rest).rstrip("\n") + "\n"


def rewrite_links(markdown: str, source: str, cfg: Config, carried: set[str], repo: Repo) -> str:
    """``markdown`` (the file at repository path ``source``) with every relative link pointing where it lives on the site."""
    here = posixpath.dirname(docs_path(source, cfg) or source)

    def target(raw: str) -> str:
        if raw.startswith(("#", "/")) or _SCHEME.match(raw):
            return raw
        path, hash_, fragment = raw.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path)) if path else source
        mapped = docs_path(resolved, cfg)
        if mapped and (resolved in carried or mapped.endswith("/index.md")):
            return posixpath.relpath(mapped, here or ".") + hash_ + fragment
        return repo.blob(resolved) + hash_ + fragment

    out, fenced = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced:
            line = _LINK.sub(lambda m: f"{m.group(1)}({target(m.group(2))}{m.group(3) or ''})", line)
            line = _REFDEF.sub(lambda m: m.group(1) + target(m.group(2)) + m.group(3), line)
        out.append(line)
    return "\n".join(out)


def case_study_page(study: Study, studies: list[Study], inputs: Inputs, carried: set[str], repo: Repo) -> str:
    cfg, r = inputs.cfg, study.record
    body = rewrite_links(strip_footer(_strip_front_matter(study.text)), r.path, cfg, carried, repo)
    model = cfg.models[r.model].name if r.model in cfg.models else r.model
    facts = [f"**Model:** [{model}](index.md)"] + ([f"**ID:** `{study.id}`"] if study.id else [])
    body = _after_title(body, " · ".join(facts))
    parts = [body.rstrip("\n")]
    if r.sources:
        parts.append("## Sources\n\n" + "\n".join(f"- <{s}>" if _SCHEME.match(s) else f"- {s}" for s in r.sources))
    related = related_studies(study, studies)
    if related:
        parts.append("## Related case studies\n\n" + "\n".join(f"- [{_md_text(o.record.title)}]({_rel(o.record.path, r.path, cfg)})" + _shared(study, o) for o in related))
    figure_data = sorted({m for m in re.findall(r"\]\((figures/[a-z0-9-]+)\.svg\)", body)})
    if figure_data:
        parts.append("Figure data, with a source for every row: " + ", ".join(f"[{posixpath.basename(f)}.csv]({f}.csv)" for f in figure_data) + ".")
    parts.append(_source_line(r.path, repo))
    front = {"tags": list(r.tags), "description": r.summary} if r.summary else {"tags": list(r.tags)}
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000) + "---\n\n" + "\n\n".join(parts) + "\n"


def _after_title(body: str, line: str) -> str:
    found = re.search(r"^# .*$", body, flags=re.M)
    if not found:
        return line + "\n\n" + body
    return body[: found.end()] + "\n\n" + line + body[found.end():]


def related_studies(study: Study, studies: list[Study]) -> list[Study]:
    """The case studies named under ``related:`` (by id, path or file name), then the ones sharing most tags."""
    others = [o for o in studies if o.record.path != study.record.path]
    chosen: list[Study] = []
    for ref in study.related:
        key = ref.strip()
        match = next((o for o in others if key in (o.id, o.record.path) or o.record.path.endswith("/" + key.lstrip("./")) or posixpath.splitext(posixpath.basename(o.record.path))[0] == key), None)
        if match and match not in chosen:
            chosen.append(match)
    mine = set(study.record.tags)
    scored = sorted(
        (o for o in others if o not in chosen and mine & set(o.record.tags)),
        key=lambda o: (-len(mine & set(o.record.tags)), o.record.model != study.record.model, o.record.title.casefold()),
    )
    return chosen + scored[: max(0, RELATED_LIMIT - len(chosen))]


def _shared(study: Study, other: Study) -> str:
    shared = [t for t in other.record.tags if t in study.record.tags]
    return f" ({', '.join(shared)})" if shared and other.id not in study.related and other.record.path not in study.related else ""


def _rel(path: str, start: str, cfg: Config) -> str:
    return posixpath.relpath(docs_path(path, cfg) or path, posixpath.dirname(docs_path(start, cfg) or start) or ".")


def _md_text(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def _source_line(path: str, repo: Repo) -> str:
    return f"Source: [{path}]({repo.blob(path)}) on GitHub."


def _model_page(name: str, paper: str, mine: list[Study]) -> str:
    items = "\n".join(f"- [{_md_text(s.record.title)}]({posixpath.basename(s.record.path)}): {s.record.summary}" for s in mine)
    return f"# {name}\n\n[Paper]({paper})\n\n## Case studies\n\n{items or '_No case studies yet._'}\n"


def home(inputs: Inputs, studies: list[Study], repo: Repo) -> str:
    cfg = inputs.cfg
    intro = _first_paragraph(inputs.texts.get(cfg.readme, ""))
    rows = []
    for folder, model in cfg.models.items():
        count = sum(s.record.model == folder for s in studies)
        rows.append(f"| [{table_cell(model.name)}]({folder}/index.md) | {count} | [Paper]({model.paper}) |")
    tags = tags_of(cfg)
    counts = {t.name: sum(t.name in s.record.tags for s in studies) for t in tags}
    tag_links = " · ".join(f"[{t.name}]({TAGS_DIR}/{t.name}.md) ({counts[t.name]})" for t in tags)
    return "\n\n".join([
        f"# {SITE_NAME}",
        intro,
        f"{len(studies)} case studies of {len(cfg.models)} models. Search them with the box at the top, browse them by model or by tag, or download them all as [data]({DATA_DIR}/index.md).",
        "## Models\n\n| Model | Case studies | Paper |\n| --- | ---: | --- |\n" + "\n".join(rows),
        f"## Tags\n\nEvery case study is tagged with the kinds of failure it covers ([all tags]({TAGS_DIR}/index.md)):\n\n{tag_links}",
        f"## Contributing\n\nThe case studies live in [{repo.url.split('github.com/')[-1]}]({repo.url}); see [CONTRIBUTING.md]({repo.blob('CONTRIBUTING.md')}) to add one.",
    ]) + "\n"


def _first_paragraph(readme: str) -> str:
    body = re.sub(r"^# .*\n+", "", _strip_front_matter(readme), count=1)
    paragraph = body.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split()) if paragraph and not paragraph.startswith(("#", "<", "|", "```")) else ""


def tags_page(tags: list[Tag], studies: list[Study]) -> str:
    groups: dict[str | None, list[Tag]] = {}
    for t in tags:
        groups.setdefault(t.group, []).append(t)
    parts = ["# Tags", "Each tag names a kind of failure. A case study carries every tag that applies."]
    for group, members in groups.items():
        if group:
            parts.append(f"## {group}")
        parts.append("\n".join(_tag_item(t, studies) for t in members))
    return "\n\n".join(parts) + "\n"


def _tag_item(tag: Tag, studies: list[Study]) -> str:
    count = sum(tag.name in s.record.tags for s in studies)
    text = f"- [{tag.name}]({tag.name}.md): {count} case stud{'y' if count == 1 else 'ies'}"
    return text + (f". {tag.definition}" if tag.definition else "")


def tag_page(tag: Tag, studies: list[Study]) -> str:
    count = sum(tag.name in s.record.tags for s in studies)
    lines = [f"# {tag.name}"]
    if tag.definition:
        lines.append(tag.definition)
    if tag.group:
        lines.append(f"Group: {tag.group}. [All tags](index.md)")
    else:
        lines.append("[All tags](index.md)")
    lines.append(f"{count} case stud{'y' if count == 1 else 'ies'} with this tag:" if count else "No case study has this tag yet.")
    lines.append(f"<!-- material/tags {{ include: [{tag.name}], toc: false }} -->")
    return "\n\n".join(lines) + "\n"


def data_page(inputs: Inputs, repo: Repo) -> str:
    cfg = inputs.cfg
    dataset = sorted(p for p in inputs.files if (docs_path(p, cfg) or "").startswith(DATA_DIR + "/"))
    figures = sorted(p for p in inputs.files if "/figures/" in p and p.endswith(".csv"))
    parts = ["# Data", "Everything on this site is generated from Markdown files in the repository. The same records are available as data:"]
    parts.append("\n".join(f"- [{posixpath.basename(p)}]({posixpath.basename(p)}): generated by `challenge-bot index` from the case studies" for p in dataset) or "- (no dataset files)")
    parts.append(
        "Each record has the case study's `path`, `model`, `title`, one-sentence `summary`, `tags` and `sources`"
        " (and, where the case study has them, its permanent `id` and its `related` case studies)."
    )
    if figures:
        parts.append("## Figure data\n\nEvery figure is drawn from a small CSV with a source URL on every row:")
        parts.append("\n".join(f"- [{p.split('/', 1)[-1]}](../{docs_path(p, cfg)})" for p in figures))
    parts.append(f"Source: [{repo.url}]({repo.url}).")
    return "\n\n".join(parts) + "\n"


def mkdocs_config(cfg: Config, repo: Repo, studies: list[Study]) -> dict[str, Any]:
    nav: list[Any] = [{"Home": "index.md"}]
    for folder, model in cfg.models.items():
        mine = [s for s in studies if s.record.model == folder]
        nav.append({model.name: [f"{folder}/index.md"] + [docs_path(s.record.path, cfg) for s in mine]})
    nav.append({"Tags": [f"{TAGS_DIR}/index.md"] + [f"{TAGS_DIR}/{t.name}.md" for t in tags_of(cfg)]})
    nav.append({"Data": f"{DATA_DIR}/index.md"})
    return {
        "site_name": SITE_NAME,
        "site_description": "Case studies of what went wrong while pretraining large language models, and what the teams did about it.",
        "site_url": repo.pages_url,
        "repo_url": repo.url,
        "repo_name": repo.url.split("github.com/")[-1],
        "edit_uri": "",
        "use_directory_urls": True,
        "strict": True,
        "validation": {"omitted_files": "warn", "absolute_links": "info", "unrecognized_links": "warn", "anchors": "warn"},
        "theme": {
            "name": "material",
            "font": False,  # no Google Fonts: the site loads nothing from other hosts
            "language": "en",
            "features": ["navigation.indexes", "navigation.top", "navigation.footer", "search.highlight", "search.suggest", "toc.follow"],
            "palette": {"scheme": "default", "primary": "indigo", "accent": "indigo"},
        },
        "plugins": ["search", {"tags": {"tags_allowed": [t.name for t in tags_of(cfg)]}}],
        "extra_css": [STYLESHEET],
        "markdown_extensions": ["tables", "admonition", "attr_list", "md_in_html", {"toc": {"permalink": True}}],
        "nav": nav,
    }


def studies_with(tag: str, records: Iterable[Record]) -> list[str]:
    """Paths of the case studies carrying ``tag`` (what a tag page must list)."""
    return sorted(r.path for r in records if tag in r.tags)
