"""The ``challenge-bot`` command line: check, new, index, rules (and serve, report for GitHub).

Exit status: 0 clean or warnings only, 1 errors found, 2 usage or
configuration error. Users never see a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from bot import __version__
from bot.core import formats
from bot.core import messages
from bot.core.config import CONFIG_PATH, Config, ConfigError, find_root, load
from bot.core.github_data import GatewayError
from bot.local.workspace import UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2 with usage; keep it to one line
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=messages.PROG, description="Keep a knowledge base of pretraining case studies well-formed.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE", help=f"configuration file (default: {CONFIG_PATH} in the repository)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    check = sub.add_parser("check", help="lint case studies (no paths: the whole repository and its index)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check")
    check.add_argument("--format", choices=formats.FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--fix", action="store_true", help="rewrite misnamed headings (CS208) and insert missing sections (CS203)")
    check.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: by tree size)")
    check.add_argument("--changed-since", metavar="REF", help="check only case studies changed since REF (all of them when the rules changed)")
    check.add_argument("--summary", metavar="FILE", help="append a Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    check.add_argument("--result", metavar="FILE", help="write the result as JSON for `challenge-bot report`")
    check.set_defaults(run=cmd_check)

    new = sub.add_parser("new", help="start a case study from the template")
    new.add_argument("model", help="model folder, e.g. meta")
    new.add_argument("title", help="the case study's title")
    new.add_argument("--slug", help="file name without .md (default: made from the title)")
    new.set_defaults(run=cmd_new)

    index = sub.add_parser("index", help="regenerate the README index and case_studies/index.json")
    index.add_argument("--check", action="store_true", help="change nothing; exit 1 and show a diff when stale")
    index.set_defaults(run=cmd_index)

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--markdown", action="store_true", help="print docs/rules.md")
    rules.set_defaults(run=cmd_rules)

    from bot.cli.github import add_github_commands  # serve and report: imports nothing heavy until run

    add_github_commands(sub)
    return parser


def load_repository(args: argparse.Namespace) -> tuple[Path, Config]:
    starts = [Path.cwd()] + [Path(p) for p in getattr(args, "paths", [])[:1]]
    if args.config:
        config_path = Path(args.config)
        root = find_root(config_path.parent.parent) or config_path.resolve().parent.parent
        return root, load(root, config_path)
    for start in starts:
        root = find_root(start)
        if root is not None:
            return root, load(root)
    raise UsageError(messages.NO_CONFIG.format(start=Path.cwd()))


def cmd_check(args: argparse.Namespace) -> int:
    from bot.local import workspace

    root, cfg = load_repository(args)
    if args.changed_since:
        if args.paths:
            raise UsageError("give either paths or --changed-since, not both")
        changed = workspace.changed_since(root, cfg, args.changed_since)
        rels = workspace.collect(root, cfg, None) if changed is None else changed
    else:
        rels = workspace.collect(root, cfg, args.paths)
    if args.fix:
        _fix_files(root, cfg, rels)
    report = workspace.lint_tree(root, cfg, rels, jobs=max(args.jobs, 0))
    if not args.paths and not args.changed_since:
        report.findings += workspace.check_index(root, cfg, report.records)
    if args.summary:
        _append(Path(args.summary), formats.markdown_summary(report.findings, report.files_checked, cfg))
    if args.result:
        from bot.github import result

        head = _checked_commit(root)
        workspace.write_atomic(Path(args.result), result.dump(head, report.checked, report.findings, report.records, report.line_texts))
    if args.format == "json":
        print(formats.as_json(report.findings, report.files_checked))
    else:
        render = formats.github if args.format == "github" else formats.text
        for line in render(report.findings):
            print(line)
        print(formats.summary(report.errors, report.warnings, report.files_checked), file=sys.stderr)
    return EXIT_FINDINGS if report.errors else EXIT_OK


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def _checked_commit(root: Path) -> str:
    """The commit a result is for: a pull request's head in Actions (GITHUB_SHA is the merge
    commit there), else GITHUB_SHA, else the checkout's HEAD."""
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
    from bot.core import fixer
    from bot.local import workspace
    from bot.core.linter import lint_file
    from bot.core.paths import place

    for rel in rels:
        if not place(rel, cfg).is_markdown:
            continue
        data, size = workspace.read_limited(root / rel, cfg.max_file_size)
        result = lint_file(rel, data, cfg, size=size)
        wanted = [f for f in result.findings if f.code in ("CS208", "CS203")]
        if not wanted or result.context is None:
            continue
        new_text, changes = fixer.fix(result.context, wanted)
        workspace.write_atomic(root / rel, new_text)
        for change in changes:
            print(messages.FIXED.format(path=rel, line=change.line, description=change.description), file=sys.stderr)


def cmd_new(args: argparse.Namespace) -> int:
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
    path.parent.mkdir(parents=True, exist_ok=True)
    if not workspace.create_exclusive(path, template.render(cfg.template, title)):
        raise UsageError(messages.ALREADY_EXISTS.format(path=rel))
    print(messages.CREATED.format(path=rel))
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    from bot.local import workspace
    from bot.core.linter import expected_index

    root, cfg = load_repository(args)
    records = workspace.all_records(root, cfg)
    readme_path, json_path = root / cfg.readme, root / cfg.index_json
    readme = workspace.read_text_or_none(readme_path)
    current_json = workspace.read_text_or_none(json_path)
    state = expected_index(records, readme, cfg)
    if state.readme is None:
        print(f"{cfg.readme}:1: CS402 index-markers-missing {state.problem}")
        return EXIT_FINDINGS
    stale = [(cfg.readme, readme_path, readme or "", state.readme), (cfg.index_json, json_path, current_json or "", state.json)]
    stale = [entry for entry in stale if entry[2] != entry[3]]
    if args.check:
        import difflib

        for rel, _, old, new in stale:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}"))
        print(messages.INDEX_STALE if stale else messages.INDEX_CURRENT, file=sys.stderr)
        return EXIT_FINDINGS if stale else EXIT_OK
    for _, path, _, new in stale:
        workspace.write_atomic(path, new)
    print(messages.INDEX_UPDATED.format(files=" and ".join(rel for rel, *_ in stale)) if stale else messages.INDEX_CURRENT)
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from bot.core import docs

    if args.markdown:
        sys.stdout.write(docs.rules_markdown())
    else:
        print("\n".join(docs.rules_list()))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except (UsageError, ConfigError) as exc:
        print(f"{messages.PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file we were asked to write (--summary, --result) or read
        print(f"{messages.PROG}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except GatewayError as exc:
        print(f"{messages.PROG}: GitHub error: {exc}", file=sys.stderr)
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    except Exception as exc:  # the one catch-all: users get a line, not a traceback
        if os.environ.get("CHALLENGE_BOT_DEBUG"):
            raise
        print(f"{messages.PROG}: {messages.INTERNAL_ERROR.format(error=exc)}", file=sys.stderr)
        return EXIT_USAGE
