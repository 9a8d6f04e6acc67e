"""The ``challenge-bot`` command line: check, new, index, rules (and serve, report for GitHub).

Exit status: 0 clean or warnings only, 1 errors found, 2 usage or
configuration error. Users never see a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from bot import __version__
from bot.core import formats
from bot.core import messages
from bot.core.config import CONFIG_PATH, Config, ConfigError
from bot.cli.repository import load_repository
from bot.local.workspace import UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would exit 2 with usage; keep it to one line
        raise UsageError(f"{message} (see `{self.prog} --help`)")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse builds a formatter for every add_argument, and its default width imports shutil
        # (with zlib, bz2 and lzma): 2.5 ms of a one-file check. The same width, found without it.
        return self.formatter_class(prog=self.prog, width=_terminal_width() - 2)  # type: ignore[call-arg]


def _terminal_width() -> int:
    """What ``shutil.get_terminal_size().columns`` says: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _command(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (after the global options), if any."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``argv`` naming a command defined here, the GitHub ones (serve,
    worker, report, doctor, ...) are left out: importing them costs a one-file check 2 ms."""
    parser = _Parser(prog=messages.PROG, description="Keep a knowledge base of pretraining case studies well-formed.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE", help=f"configuration file (default: {CONFIG_PATH} in the repository)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    check = sub.add_parser("check", help="lint case studies (no paths: the whole repository and its index)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check")
    check.add_argument("--format", choices=formats.FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--fix", action="store_true", help="apply the fixes of fixable rules (see `challenge-bot rules`), then check")
    check.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: by tree size)")
    check.add_argument("--cache-dir", metavar="DIR", help="keep results in DIR and reuse them for files, rules and config unchanged (pre-commit, CI)")
    check.add_argument("--changed-since", metavar="REF", help="check only case studies changed since REF (all of them when the rules changed)")
    check.add_argument("--summary", metavar="FILE", help="append a Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    check.add_argument("--result", metavar="FILE", help="write the result as JSON for `challenge-bot report`")
    check.add_argument("--index", action="store_true", help="fail when the generated index is stale (CI on the default branch); without it, a branch only hears how the index will change")
    check.add_argument("--quiet", "-q", action="store_true", help="print the findings only, without docs links or the summary line")
    check.set_defaults(run=cmd_check)

    new = sub.add_parser("new", help="start a case study from the template")
    new.add_argument("model", help="model folder, e.g. meta")
    new.add_argument("title", help="the case study's title")
    new.add_argument("--slug", help="file name without .md (default: made from the title)")
    new.set_defaults(run=cmd_new)

    index = sub.add_parser("index", help="regenerate the README index, case_studies/index.json and index.csv, and the case studies' footers")
    shown_index = index.add_mutually_exclusive_group()
    shown_index.add_argument("--check", action="store_true", help="change nothing; exit 1 and show a diff when stale")
    shown_index.add_argument("--schema", action="store_true", help="print docs/index.schema.json, the JSON Schema of index.json")
    index.set_defaults(run=cmd_index)

    next_id = sub.add_parser("next-id", help="print the next free case-study id (for a case study not started with `new`)")
    next_id.set_defaults(run=cmd_next_id)

    rules = sub.add_parser("rules", help="list the rules, or explain one")
    rules.add_argument("rule", nargs="?", metavar="CODE", help="a rule code or name, e.g. CS203 or missing-section")
    rules.add_argument("--markdown", action="store_true", help="print docs/rules.md")
    rules.set_defaults(run=cmd_rules)

    conf = sub.add_parser("config", help="check the configuration file, or print its documentation or schema")
    shown = conf.add_mutually_exclusive_group()
    shown.add_argument("--markdown", action="store_true", help="print docs/configuration.md")
    shown.add_argument("--schema", action="store_true", help="print docs/config.schema.json")
    shown.add_argument("--validator", action="store_true", help="print bot/core/config_validator.py, generated from the schema")
    conf.set_defaults(run=cmd_config)

    figures = sub.add_parser("figures", help="draw the figures in case_studies/<model>/figures/ to SVG (needs the `site` extra)")
    figures.add_argument("--check", action="store_true", help="change nothing; exit 1 when an SVG is missing or differs")
    figures.set_defaults(run=cmd_figures)

    site = sub.add_parser("site", help="build the static site into site/ (needs the `site` extra)")
    site.add_argument("--out", metavar="DIR", default="site", help="where to build (default: site/ in the repository)")
    site.add_argument("--serve", action="store_true", help="then serve it on http://127.0.0.1:PORT until interrupted")
    site.add_argument("--port", type=int, default=8000, help="port for --serve and --screenshot (default: 8000; 0 picks a free one)")
    site.add_argument("--screenshot", metavar="PNG", help="then take a screenshot of a page with headless Chromium")
    site.add_argument("--page", default="", metavar="PATH", help="the page --screenshot shows (default: the home page), e.g. meta/")
    site.set_defaults(run=cmd_site)

    if argv is None or _command(argv) not in sub.choices:
        from bot.cli.github import add_github_commands  # serve and report: imports nothing heavy until run

        add_github_commands(sub)
    return parser


INDEX_RULE = "CS401"  # index-out-of-date: on a branch, information; with --index, an error


def cmd_check(args: argparse.Namespace) -> int:
    from bot.local import workspace  # the file system: only the commands that read the repository load it

    root, cfg = load_repository(args)
    whole = not args.paths and not args.changed_since
    if args.index and not whole:
        raise UsageError("--index checks the whole repository: give neither paths nor --changed-since")
    if args.changed_since:
        if args.paths:
            raise UsageError("give either paths or --changed-since, not both")
        changed = workspace.changed_since(root, cfg, args.changed_since)
        rels = workspace.collect(root, cfg, None) if changed is None else changed
    else:
        rels = workspace.collect(root, cfg, args.paths)
    if args.fix:
        _fix_files(root, cfg, rels)
    cache = None
    if args.cache_dir:
        from bot.local import resultcache  # only --cache-dir runs hash the rules and read the cache

        cache = resultcache.open_cache(Path(args.cache_dir), cfg, _config_bytes(root, cfg))
    texts = workspace.GeneratedTexts(root, cfg) if whole else None  # read while the workers lint, if there are workers
    # Index records only where they are used: the repository rules and the result file.
    report = workspace.lint_tree(
        root, cfg, rels, jobs=max(args.jobs, 0), cache=cache, records=whole or bool(args.result), meanwhile=texts.start if texts else None
    )
    stale: list = []
    if whole:
        found = workspace.check_index(root, cfg, report.records, cache, report.cache_keys, texts)
        # Contributors never regenerate the index: the bot does after merge. A branch hears how it will change.
        stale = [] if args.index else [f for f in found if f.code == INDEX_RULE]
        report.findings += [f for f in found if f not in stale]
    changes = workspace.index_preview(root, cfg, report.records) if stale else []
    if args.summary:
        _append(Path(args.summary), formats.markdown_summary(report.findings, report.files_checked, cfg))
    if args.result:
        from bot.github import result  # --result only: the file `report` reads

        head = _checked_commit(root)
        workspace.write_atomic(Path(args.result), result.dump(head, report.checked, report.findings, report.records))
    if args.format == "json":
        index = {"stale": [f.path for f in stale], "changes": [c._asdict() for c in changes]} if whole else None
        print(formats.as_json(report.findings, report.files_checked, report.suppressed, cfg, index=index))
        return EXIT_FINDINGS if report.errors else EXIT_OK
    lines = formats.github(report.findings) if args.format == "github" else formats.text(report.findings, cfg, quiet=args.quiet)
    for line in lines:
        print(line)
    if not args.quiet:
        if stale:
            print(formats.index_note(changes, sorted({f.path for f in stale}), cfg), file=sys.stderr)
        fixable = sum(f.fix is not None for f in report.findings)
        if fixable and not args.fix and args.format == "text":
            print(messages.FIXABLE.format(count=fixable), file=sys.stderr)
        print(formats.summary(report.errors, report.warnings, report.files_checked), file=sys.stderr)
    return EXIT_FINDINGS if report.errors else EXIT_OK


def _config_bytes(root: Path, cfg: Config) -> bytes:
    """The configuration file as it is on disk (part of the result cache's fingerprint)."""
    try:
        return (root / cfg.source).read_bytes()  # an absolute --config path stays as given
    except OSError:
        return b""


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def _checked_commit(root: Path) -> str:
    """The commit a result is for: a pull request's head in Actions (GITHUB_SHA is the merge
    commit there), else GITHUB_SHA, else the checkout's HEAD."""
    # Only --result needs to name the commit: json and subprocess stay out of a plain check.
    import json
    import subprocess

    try:
        event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_bytes())
        head = event["pull_request"]["head"]["sha"]
        if isinstance(head, str):
            return head
    except (KeyError, TypeError, OSError, ValueError):
        pass
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, check=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise UsageError("--result needs GITHUB_SHA or a git checkout to name the commit checked") from None


def _fix_files(root: Path, cfg: Config, rels: list[str]) -> None:
    from bot.core import fixer  # --fix only: applies the findings' edits
    from bot.core.context import REGULAR  # --fix only: what it may rewrite
    from bot.core.linter import lint_file  # --fix only: lints each file once more before fixing it
    from bot.core.paths import place  # --fix only: which files are Markdown
    from bot.local import workspace  # --fix only: the bounded reader and the atomic writer

    for rel in rels:
        if not place(rel, cfg).is_markdown:
            continue
        # A link out of the repository, a pipe or a device is never read, so never rewritten.
        entry = workspace.read_entry(root / rel, cfg.max_file_size, root)
        if entry.kind != REGULAR or entry.data is None or entry.real is None:
            continue
        checked = lint_file(rel, entry.data, cfg, size=entry.size)
        if not any(f.fix for f in checked.findings):
            continue
        new_text, changes = fixer.apply(entry.data.decode("utf-8"), checked.findings)
        workspace.write_atomic(entry.real, new_text)
        for change in changes:
            print(messages.FIXED.format(path=rel, line=change.line, description=change.description), file=sys.stderr)


def cmd_new(args: argparse.Namespace) -> int:
    # `new` only: the template module and re are not needed to check files.
    import re

    from bot.core import template
    from bot.local import workspace

    root, cfg = load_repository(args)
    if args.model not in cfg.models:
        raise UsageError(messages.UNKNOWN_MODEL.format(model=args.model, known=", ".join(cfg.models)))
    title = " ".join(args.title.split())
    slug = args.slug if args.slug is not None else template.slugify(title)
    if not title or "\n" in args.title or not re.search(r"\w", title):
        raise UsageError(messages.BAD_TITLE)
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise UsageError(messages.BAD_SLUG.format(slug=slug))
    rel = f"{cfg.case_studies_dir}/{args.model}/{slug}.md"
    path = root / rel
    if path.exists():
        raise UsageError(messages.ALREADY_EXISTS.format(path=rel))
    case_id = workspace.next_id(root, cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not workspace.create_exclusive(path, template.render(cfg.template, title, case_id)):
        raise UsageError(messages.ALREADY_EXISTS.format(path=rel))
    print(messages.CREATED.format(path=rel, id=case_id))
    return EXIT_OK


def cmd_next_id(args: argparse.Namespace) -> int:
    from bot.local import workspace  # commands import what they use, so `check` starts fast

    root, cfg = load_repository(args)
    print(workspace.next_id(root, cfg))
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    if args.schema:
        from bot.core import dataset  # commands import what they use, so `check` starts fast

        sys.stdout.write(dataset.schema_json())
        return EXIT_OK
    from bot.core import footer  # commands import what they use, so `check` starts fast
    from bot.local import workspace  # (likewise)

    root, cfg = load_repository(args)
    plan, current = workspace.plan_index(root, cfg)
    if plan.blocked:
        for line in formats.text(plan.blocked, cfg):
            print(line)
        print(messages.INDEX_BLOCKED, file=sys.stderr)
        return EXIT_FINDINGS
    writes = [(rel, current[rel], new) for rel, new in plan.files.items()]
    for record, block in plan.footers:
        old = workspace.read_text_or_none(root / record.path, root) or ""
        writes.append((record.path, old, footer.replace(old, block)))
    if args.check:
        import difflib  # only --check shows a diff

        for rel, old, new in writes:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}"))
        print(messages.INDEX_STALE if writes else messages.INDEX_CURRENT, file=sys.stderr)
        return EXIT_FINDINGS if writes else EXIT_OK
    for rel, _, new in writes:
        workspace.write_atomic(root / rel, new)
    print(messages.INDEX_UPDATED.format(files=_listed([rel for rel, *_ in writes])) if writes else messages.INDEX_CURRENT)
    return EXIT_OK


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; past five, the first four and how many more."""
    if len(names) > 5:
        names = names[:4] + [f"{len(names) - 4} more files"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def cmd_figures(args: argparse.Namespace) -> int:
    import importlib  # matplotlib: only this command pays for it, and names the extra when missing

    from bot.local import workspace  # lazily, like every command: `check` stays fast

    root, cfg = load_repository(args)
    figures = _needs_extra(importlib.import_module, "bot.local.figures")
    drawn = figures.draw_all(root, cfg)
    stale = [d for d in drawn if not d.current]
    if args.check:
        for d in stale:
            print(messages.FIGURE_STALE.format(path=d.path))
        return EXIT_FINDINGS if stale else EXIT_OK
    for d in stale:
        workspace.write_atomic(root / d.path, d.text)
        print(messages.FIGURE_DRAWN.format(path=d.path))
    print(messages.FIGURES_DONE.format(drawn=len(stale), total=len(drawn)), file=sys.stderr)
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    import importlib  # MkDocs: only this command pays for it, and names the extra when missing

    root, cfg = load_repository(args)
    site = _needs_extra(importlib.import_module, "bot.local.site")
    out = root / "site" if args.out == "site" else Path(args.out).resolve()
    site.build(root, cfg, out)
    print(messages.SITE_BUILT.format(path=out), file=sys.stderr)
    if args.screenshot:
        site.screenshot(out, Path(args.screenshot), args.page, port=args.port)
        print(messages.SCREENSHOT_TAKEN.format(path=args.screenshot), file=sys.stderr)
    if args.serve:
        site.serve(out, port=args.port)
    return EXIT_OK


def _needs_extra(run: Callable, *args):
    """Run ``run``; a missing optional dependency (matplotlib, mkdocs) is a usage error that says what to install."""
    try:
        return run(*args)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("matplotlib", "mkdocs", "material"):
            raise UsageError(messages.NEEDS_SITE_EXTRA.format(module=exc.name)) from None
        raise


def cmd_rules(args: argparse.Namespace) -> int:
    from bot.core import docs  # the rule docs, only for `rules`

    if args.rule:
        from bot.core.rules import lookup  # the registry is loaded by now; keeps the import next to its one use

        found = lookup(args.rule)
        if found is None:
            raise UsageError(f"no rule {args.rule!r}; `challenge-bot rules` lists them")
        sys.stdout.write(docs.explain(found))
    elif args.markdown:
        sys.stdout.write(docs.rules_markdown())
    else:
        print("\n".join(docs.rules_list()))
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    if args.markdown:
        from bot.core.config_docs import config_markdown  # builds the schema: only these flags need it

        sys.stdout.write(config_markdown())
    elif args.schema or args.validator:
        from bot.core import config_schema  # builds the schema: only these flags need it

        sys.stdout.write(config_schema.schema_json() if args.schema else config_schema.validator_code())
    else:
        _, cfg = load_repository(args)
        print(messages.CONFIG_VALID.format(file=cfg.source, sections=len(cfg.sections), models=len(cfg.models), tags=len(cfg.tags)))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser(argv).parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except (UsageError, ConfigError) as exc:
        print(f"{messages.PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # before OSError, of which it is one
        # The reader went away (e.g. `| head`); exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    except OSError as exc:  # a file we were asked to write (--summary, --result) or read
        print(f"{messages.PROG}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one catch-all: users get a line, not a traceback
        # Only a command that asked GitHub something raises GatewayError, and it has loaded the module
        # already: a one-file check does not pay for importing it.
        from bot.core.github_data import GatewayError

        if isinstance(exc, GatewayError):
            print(f"{messages.PROG}: GitHub error: {exc}", file=sys.stderr)
            return EXIT_FINDINGS
        if os.environ.get("CHALLENGE_BOT_DEBUG"):
            raise
        print(f"{messages.PROG}: {messages.INTERNAL_ERROR.format(error=exc)}", file=sys.stderr)
        return EXIT_USAGE
