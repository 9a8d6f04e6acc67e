#!/usr/bin/env python3
"""Generate the committed GitHub spec subsets used by the test suite.

Reads GitHub's official REST OpenAPI description (``@octokit/openapi``),
GitHub's webhook JSON schemas (``@octokit/webhooks-schemas``) and its GraphQL
schema (``@octokit/graphql-schema``), all pinned in
``package.json`` / ``package-lock.json`` next to this script, and writes three
small, deterministic files next to it:

* ``openapi.json``  -- an OpenAPI 3.0.3 document holding only the operations in
  ``OPERATION_IDS`` and the components they reference (transitively), with
  documentation strings, examples and ``x-*`` extensions removed.
* ``webhooks.json`` -- a JSON Schema draft-07 document whose ``definitions``
  hold only the payloads in ``WEBHOOK_DEFINITIONS`` and everything they
  reference (transitively), with descriptions removed.
* ``graphql.json``  -- an introspection result of GitHub's GraphQL API
  (``@octokit/graphql-schema``) holding only the fields in ``GRAPHQL_FIELDS``
  and the types they name, with descriptions removed.

The npm packages are installed with ``npm ci`` into a cache folder outside the
repository (default ``~/.cache/challenge-bot/github-spec``, ``--cache DIR`` to
change it) and reused on later runs. Only this script needs npm; the tests only
read the generated JSON files.

Usage::

    python tests/github_spec/generate.py            # (re)generate
    python tests/github_spec/generate.py --check    # exit 1 if files are stale

Standard library only (Python 3.11+).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent  # tests/github_spec/ -> repository root
DEFAULT_CACHE = Path("~/.cache/challenge-bot/github-spec").expanduser()

OPENAPI_PACKAGE = "@octokit/openapi"
OPENAPI_FILE = "generated/api.github.com.json"
WEBHOOKS_PACKAGE = "@octokit/webhooks-schemas"
WEBHOOKS_FILE = "schema.json"
GRAPHQL_PACKAGE = "@octokit/graphql-schema"
GRAPHQL_FILE = "schema.json"  # the introspection result of GitHub's GraphQL API

OPERATION_IDS = [
    "apps/create-installation-access-token",
    "apps/get-repo-installation",
    "apps/list-installations",
    "apps/list-repos-accessible-to-installation",
    "apps/list-webhook-deliveries",
    "apps/get-webhook-delivery",
    "apps/redeliver-webhook-delivery",
    "repos/get",
    "pulls/get",
    "pulls/list",
    "pulls/create",
    "pulls/update",
    "pulls/list-files",
    "pulls/list-reviews",
    "pulls/create-review",
    "pulls/list-review-comments",
    "repos/get-content",
    "git/get-ref",
    "git/create-ref",
    "git/update-ref",
    "git/get-commit",
    "git/create-commit",
    "git/get-tree",
    "git/create-tree",
    "git/get-blob",
    "git/create-blob",
    "checks/create",
    "checks/update",
    "checks/list-for-ref",
    "issues/get",
    "issues/list-comments",
    "issues/create-comment",
    "issues/update-comment",
    "issues/list-labels-on-issue",
    "issues/add-labels",
    "issues/set-labels",
    "issues/remove-label",
    "issues/get-label",
    "issues/create-label",
    "repos/get-collaborator-permission-level",
    "reactions/create-for-issue-comment",
    "repos/get-branch",
]

WEBHOOK_DEFINITIONS = [
    "pull_request$opened",
    "pull_request$synchronize",
    "pull_request$reopened",
    "pull_request$ready_for_review",
    "pull_request$edited",
    "pull_request$closed",
    "pull_request$labeled",
    "issue_comment$created",
    "issue_comment$edited",
    "push$event",
    "ping$event",
    "check_run$rerequested",
    "check_suite$rerequested",
    "installation$created",
    "workflow_run$completed",
    "workflow_dispatch$event",
]

# GraphQL: per type, the fields the bot reads (arguments kept whole). Nothing else of the schema is kept, so
# a query asking for anything more fails validation in the fake GitHub until it is added here.
GRAPHQL_FIELDS = {
    "Query": ["repository"],
    "Repository": ["object", "pullRequest"],
    "GitObject": ["oid"],
    "Blob": ["byteSize", "isBinary", "isTruncated", "oid", "text"],
    "PullRequest": ["author", "baseRefName", "headRefName", "headRefOid", "isDraft", "labels", "merged", "number", "state"],
    "LabelConnection": ["nodes"],
    "Label": ["name"],
    "Actor": ["login"],
    "User": ["login"],  # the kinds of Actor a pull request's author is
    "Bot": ["login"],
}
GRAPHQL_DIRECTIVES = ("include", "skip", "deprecated")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class GenerateError(Exception):
    pass


# --------------------------------------------------------------------------
# npm install into the cache folder
# --------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pinned_versions() -> dict[str, str]:
    deps = json.loads((HERE / "package.json").read_text())["dependencies"]
    return {name: deps[name] for name in (OPENAPI_PACKAGE, WEBHOOKS_PACKAGE, GRAPHQL_PACKAGE)}


def _installed_ok(cache: Path, pins: dict[str, str]) -> bool:
    for name in ("package.json", "package-lock.json"):
        if not (cache / name).is_file() or _sha256(cache / name) != _sha256(HERE / name):
            return False
    for pkg, version in pins.items():
        manifest = cache / "node_modules" / pkg / "package.json"
        if not manifest.is_file():
            return False
        if json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


def ensure_installed(cache: Path) -> Path:
    """Install the pinned packages into ``cache`` (reused if already there)."""
    pins = _pinned_versions()
    if _installed_ok(cache, pins):
        print(f"using cached npm packages in {cache}")
        return cache / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        raise GenerateError("npm not found on PATH; it is needed (only) to regenerate these files")
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, cache / name)
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    print(f"running {' '.join(cmd[1:])} in {cache} (downloads ~400 MB the first time)", flush=True)
    subprocess.run(cmd, cwd=cache, check=True)
    if not _installed_ok(cache, pins):
        raise GenerateError(f"npm ci in {cache} did not install the pinned versions {pins}")
    return cache / "node_modules"


# --------------------------------------------------------------------------
# OpenAPI subset
# --------------------------------------------------------------------------

# JSON-pointer prefix -> kind of object found there.
COMPONENT_KINDS = {
    "schemas": "schema",
    "parameters": "parameter",
    "responses": "response",
    "headers": "header",
    "requestBodies": "requestBody",
}


class OpenAPIPruner:
    """Walks OpenAPI objects knowing what each object is, so that only
    documentation keys are removed (never, say, a schema property that
    happens to be called ``description``), and collects ``$ref`` targets."""

    def __init__(self, source: dict[str, Any]):
        self.source = source
        self.pending: list[str] = []
        self.seen: set[str] = set()

    # -- references -------------------------------------------------------

    def ref(self, obj: dict[str, Any]) -> dict[str, Any]:
        target = obj["$ref"]
        parts = target.split("/")
        if len(parts) != 4 or parts[:2] != ["#", "components"] or parts[2] not in COMPONENT_KINDS:
            raise GenerateError(f"unsupported $ref {target!r}")
        if parts[3] not in self.source["components"].get(parts[2], {}):
            raise GenerateError(f"dangling $ref {target!r}")
        if target not in self.seen:
            self.seen.add(target)
            self.pending.append(target)
        # OpenAPI 3.0: siblings of $ref are ignored, so drop them.
        return {"$ref": target}

    @staticmethod
    def _is_ref(obj: Any) -> bool:
        return isinstance(obj, dict) and "$ref" in obj

    @staticmethod
    def _extension(key: str) -> bool:
        return key.startswith("x-")

    # -- object kinds -----------------------------------------------------

    def schema(self, obj: Any) -> Any:
        if isinstance(obj, bool) or not isinstance(obj, dict):
            return obj
        if self._is_ref(obj):
            return self.ref(obj)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if self._extension(key) or key in ("description", "example", "externalDocs"):
                continue
            if key == "properties":
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "not"):
                out[key] = self.schema(value)
            elif key in ("allOf", "anyOf", "oneOf"):
                out[key] = [self.schema(sub) for sub in value]
            else:  # type, format, enum, default, required, nullable, discriminator, ...
                out[key] = value
        return out

    def media_types(self, content: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for media_type, media in content.items():
            m: dict[str, Any] = {}
            for key, value in media.items():
                if key == "schema":
                    m[key] = self.schema(value)
                elif key in ("encoding",):
                    m[key] = value
                elif key in ("example", "examples") or self._extension(key):
                    continue
                else:
                    raise GenerateError(f"unexpected media type key {key!r}")
            out[media_type] = m
        return out

    def parameter(self, obj: dict[str, Any]) -> dict[str, Any]:
        # Also used for Header Objects (same shape minus name/in).
        if self._is_ref(obj):
            return self.ref(obj)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if self._extension(key) or key in ("description", "example", "examples"):
                continue
            if key == "schema":
                out[key] = self.schema(value)
            elif key == "content":
                out[key] = self.media_types(value)
            else:  # name, in, required, deprecated, style, explode, ...
                out[key] = value
        return out

    header = parameter

    def request_body(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self._is_ref(obj):
            return self.ref(obj)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if self._extension(key) or key == "description":
                continue
            if key == "content":
                out[key] = self.media_types(value)
            else:  # required
                out[key] = value
        return out

    def response(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self._is_ref(obj):
            return self.ref(obj)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if self._extension(key) or key == "links":
                continue
            if key == "description":  # required by OpenAPI; they are short ("Response")
                out[key] = value
            elif key == "headers":
                out[key] = {name: self.header(h) for name, h in value.items()}
            elif key == "content":
                out[key] = self.media_types(value)
            else:
                raise GenerateError(f"unexpected response key {key!r}")
        out.setdefault("description", "")
        return out

    def operation(self, obj: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if self._extension(key) or key in ("summary", "description", "externalDocs"):
                continue
            if key == "parameters":
                out[key] = [self.parameter(p) for p in value]
            elif key == "requestBody":
                out[key] = self.request_body(value)
            elif key == "responses":
                out[key] = {code: self.response(r) for code, r in value.items()}
            elif key in ("operationId", "tags", "deprecated", "servers", "security"):
                out[key] = value
            else:
                raise GenerateError(f"unexpected operation key {key!r} in {obj.get('operationId')}")
        return out

    # -- components -------------------------------------------------------

    def components(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        walkers = {
            "schema": self.schema,
            "parameter": self.parameter,
            "response": self.response,
            "header": self.header,
            "requestBody": self.request_body,
        }
        while self.pending:
            target = self.pending.pop()
            _, _, section, name = target.split("/")
            obj = self.source["components"][section][name]
            out.setdefault(section, {})[name] = walkers[COMPONENT_KINDS[section]](obj)
        return out


def build_openapi(source: dict[str, Any], package_version: str) -> dict[str, Any]:
    if not str(source.get("openapi", "")).startswith("3.0."):
        raise GenerateError(f"expected an OpenAPI 3.0.x description, got {source.get('openapi')!r}")

    # operationId -> (path, method)
    index: dict[str, tuple[str, str]] = {}
    for path, item in source["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_id = op.get("operationId")
            if op_id in index:
                raise GenerateError(f"duplicate operationId {op_id!r}")
            index[op_id] = (path, method)
    missing = [op_id for op_id in OPERATION_IDS if op_id not in index]
    if missing:
        raise GenerateError(f"operationIds not found in {OPENAPI_PACKAGE}: {missing}")
    if len(set(OPERATION_IDS)) != len(OPERATION_IDS):
        raise GenerateError("OPERATION_IDS has duplicates")

    pruner = OpenAPIPruner(source)
    paths: dict[str, dict[str, Any]] = {}
    for op_id in OPERATION_IDS:
        path, method = index[op_id]
        item = source["paths"][path]
        out_item = paths.setdefault(path, {})
        if "parameters" in item and "parameters" not in out_item:
            out_item["parameters"] = [pruner.parameter(p) for p in item["parameters"]]
        if "servers" in item and "servers" not in out_item:
            out_item["servers"] = item["servers"]
        out_item[method] = pruner.operation(item[method])

    info = source["info"]
    spec: dict[str, Any] = {
        "openapi": source["openapi"],
        "info": {
            "title": info["title"],
            "version": info["version"],
            "description": (
                f"Generated subset of {OPENAPI_PACKAGE}@{package_version} ({OPENAPI_FILE}): "
                f"only the {len(OPERATION_IDS)} operations used by challenge-bot's fake GitHub "
                "server and the components they reference; documentation strings, examples and "
                "x-* extensions removed. Regenerate with: python tests/github_spec/generate.py"
            ),
        },
        "servers": source["servers"],
        "paths": paths,
        "components": pruner.components(),
    }
    if "license" in info:
        spec["info"]["license"] = info["license"]
    return spec


# --------------------------------------------------------------------------
# Webhook schema subset
# --------------------------------------------------------------------------

SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
SCHEMA_SINGLE = ("additionalItems", "additionalProperties", "contains", "propertyNames", "not",
                 "if", "then", "else")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
# Annotations and generator hints that validation ignores.
SCHEMA_DROP = ("description", "$comment", "examples", "tsAdditionalProperties")


class WebhookPruner:
    def __init__(self, definitions: dict[str, Any]):
        self.definitions = definitions
        self.pending: list[str] = []
        self.seen: set[str] = set()

    def need(self, name: str) -> None:
        if name not in self.definitions:
            raise GenerateError(f"webhook definition {name!r} not found in {WEBHOOKS_PACKAGE}")
        if name not in self.seen:
            self.seen.add(name)
            self.pending.append(name)

    def schema(self, obj: Any) -> Any:
        if not isinstance(obj, dict):
            return obj  # boolean schema
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in SCHEMA_DROP:
                continue
            if key == "$ref":
                if not isinstance(value, str) or not value.startswith("#/definitions/"):
                    raise GenerateError(f"unsupported webhook $ref {value!r}")
                name = value[len("#/definitions/"):]
                if "/" in name or "~" in name:
                    raise GenerateError(f"unsupported webhook $ref {value!r}")
                self.need(name)
                out[key] = value
            elif key in SCHEMA_MAPS:
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key == "dependencies":
                out[key] = {k: (self.schema(v) if isinstance(v, dict) else v) for k, v in value.items()}
            elif key == "items":
                out[key] = [self.schema(s) for s in value] if isinstance(value, list) else self.schema(value)
            elif key in SCHEMA_SINGLE:
                out[key] = self.schema(value)
            elif key in SCHEMA_LISTS:
                out[key] = [self.schema(sub) for sub in value]
            else:  # type, enum, const, required, format, title, default, $schema, ...
                out[key] = value
        return out

    def run(self, roots: list[str]) -> dict[str, Any]:
        for name in roots:
            self.need(name)
        out: dict[str, Any] = {}
        while self.pending:
            name = self.pending.pop()
            out[name] = self.schema(self.definitions[name])
        return out


def build_webhooks(source: dict[str, Any]) -> dict[str, Any]:
    definitions = source.get("definitions")
    if not isinstance(definitions, dict):
        raise GenerateError(f"{WEBHOOKS_PACKAGE}/{WEBHOOKS_FILE} has no definitions")
    missing = [name for name in WEBHOOK_DEFINITIONS if name not in definitions]
    if missing:
        raise GenerateError(f"webhook definitions not found in {WEBHOOKS_PACKAGE}: {missing}")
    return {
        "$schema": source.get("$schema", "http://json-schema.org/draft-07/schema#"),
        "definitions": WebhookPruner(definitions).run(WEBHOOK_DEFINITIONS),
    }


# --------------------------------------------------------------------------
# GraphQL subset
# --------------------------------------------------------------------------


def _type_name(ref: dict[str, Any]) -> str:
    while ref.get("ofType") is not None:
        ref = ref["ofType"]
    return ref["name"]


def build_graphql(source: dict[str, Any], version: str) -> dict[str, Any]:
    """An introspection result holding only ``GRAPHQL_FIELDS`` and the types their fields and arguments name."""
    schema = source.get("__schema") or source.get("data", {}).get("__schema")
    if not isinstance(schema, dict):
        raise GenerateError(f"{GRAPHQL_PACKAGE}/{GRAPHQL_FILE} is not an introspection result")
    types = {t["name"]: t for t in schema["types"]}
    kept: dict[str, dict[str, Any]] = {}
    pending = list(GRAPHQL_FIELDS)
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        if name not in types:
            raise GenerateError(f"GraphQL type {name} not found in {GRAPHQL_PACKAGE}")
        source_type = types[name]
        out = {key: source_type.get(key) for key in ("kind", "name")}
        out["description"] = None
        wanted = GRAPHQL_FIELDS.get(name)
        fields = None
        if source_type.get("fields") is not None:
            by_name = {f["name"]: f for f in source_type["fields"]}
            missing = [f for f in wanted or () if f not in by_name]
            if missing:
                raise GenerateError(f"GraphQL fields not found on {name}: {missing}")
            fields = [_strip(by_name[f]) for f in (wanted or ())]
            for field in fields:
                pending.append(_type_name(field["type"]))
                pending += [_type_name(arg["type"]) for arg in field["args"]]
        out["fields"] = fields
        out["inputFields"] = None if source_type.get("inputFields") is None else [_strip(f) for f in source_type["inputFields"]]
        pending += [_type_name(f["type"]) for f in out["inputFields"] or ()]  # an argument's input type names others
        out["enumValues"] = None if source_type.get("enumValues") is None else [
            {"name": v["name"], "description": None, "isDeprecated": v["isDeprecated"], "deprecationReason": v["deprecationReason"]}
            for v in source_type["enumValues"]
        ]
        out["interfaces"] = None if source_type.get("interfaces") is None else []
        out["possibleTypes"] = None if source_type.get("possibleTypes") is None else []
        kept[name] = out
    for name, out in kept.items():  # only the links between kept types
        source_type = types[name]
        if out["interfaces"] is not None:
            out["interfaces"] = [ref for ref in source_type["interfaces"] if ref["name"] in kept]
        if out["possibleTypes"] is not None:
            out["possibleTypes"] = [ref for ref in source_type["possibleTypes"] if ref["name"] in kept]
    directives = [
        {"name": d["name"], "description": None, "locations": d["locations"], "args": [_strip(a) for a in d["args"]]}
        for d in schema.get("directives", []) if d["name"] in GRAPHQL_DIRECTIVES
    ]
    return {
        "info": {"source": f"{GRAPHQL_PACKAGE} {version}", "fields": GRAPHQL_FIELDS},
        "__schema": {
            "queryType": {"name": "Query"},
            "mutationType": None,
            "subscriptionType": None,
            "types": [kept[name] for name in sorted(kept)],
            "directives": directives,
        },
    }


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    """A field, argument or input field without its description."""
    out = {key: value for key, value in item.items() if key != "description"}
    out["description"] = None
    if "args" in out:
        out["args"] = [_strip(arg) for arg in out["args"]]
    return out


# --------------------------------------------------------------------------
# Self-checks (stdlib only) and output
# --------------------------------------------------------------------------


def check_refs(doc: dict[str, Any], label: str) -> None:
    """Every local $ref in ``doc`` must resolve within ``doc``."""

    def resolve(pointer: str) -> None:
        node: Any = doc
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise GenerateError(f"{label}: $ref {pointer!r} does not resolve")
            node = node[part]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                resolve(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


def dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"folder for the npm install (default: {DEFAULT_CACHE})")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="folder to write openapi.json and webhooks.json (default: next to this script)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the files in --out differ from what would be generated")
    args = parser.parse_args(argv)

    try:
        cache = args.cache.expanduser().resolve()
        if cache == REPO_ROOT or REPO_ROOT in cache.parents:
            raise GenerateError(f"--cache must be outside the repository ({REPO_ROOT})")
        node_modules = ensure_installed(cache)

        openapi_pkg = node_modules / OPENAPI_PACKAGE
        openapi_version = json.loads((openapi_pkg / "package.json").read_text())["version"]
        openapi_source = json.loads((openapi_pkg / OPENAPI_FILE).read_text(encoding="utf-8"))
        webhooks_source = json.loads(
            (node_modules / WEBHOOKS_PACKAGE / WEBHOOKS_FILE).read_text(encoding="utf-8"))
        graphql_pkg = node_modules / GRAPHQL_PACKAGE
        graphql_version = json.loads((graphql_pkg / "package.json").read_text())["version"]
        graphql_source = json.loads((graphql_pkg / GRAPHQL_FILE).read_text(encoding="utf-8"))

        outputs = {
            "openapi.json": build_openapi(openapi_source, openapi_version),
            "webhooks.json": build_webhooks(webhooks_source),
            "graphql.json": build_graphql(graphql_source, graphql_version),
        }
        for name, doc in outputs.items():
            check_refs(doc, name)
    except (GenerateError, subprocess.CalledProcessError, OSError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    stale = []
    for name, doc in outputs.items():
        data = dump(doc)
        target = args.out / name
        if args.check:
            if not target.is_file() or target.read_bytes() != data:
                stale.append(name)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        print(f"wrote {target} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]})")
    if stale:
        print(f"stale: {', '.join(stale)} (run python tests/github_spec/generate.py)", file=sys.stderr)
        return 1
    if args.check:
        print("up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
