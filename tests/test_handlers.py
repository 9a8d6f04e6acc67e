"""Handlers against the intent-level FakeGateway: the resulting GitHub state, exactly."""

from __future__ import annotations

import pytest

from bot.core import messages as m
from bot.service.handlers import Context, router
from bot.github.remote import Cache
from fakes import FakeGateway
from helpers import GOOD

BROKEN = GOOD.replace("## Bugs/Missteps", "## Bugs / Missteps").replace("## Learnings\n\nKeep checkpoints close together.\n", "")


def run(gw: FakeGateway, event: str, payload: dict, cache: Cache | None = None) -> str:
    route = router.route(event, payload.get("action"))
    assert route is not None and route.accepts(payload)
    return route.handler(Context(gw, cache or Cache()), payload)


def pr_event(gw: FakeGateway, number: int, action: str = "opened") -> dict:
    pr = gw.pull_request(number)
    return {
        "action": action,
        "repository": {"full_name": gw.repo, "default_branch": "main"},
        "installation": {"id": 1},
        "pull_request": {"number": number, "head": {"sha": pr.head_sha}, "base": {"ref": "main"}, "merged": False},
    }


def comment_event(gw: FakeGateway, number: int, body: str, login: str = "someone", comment_id: int = 900) -> dict:
    return {
        "action": "created",
        "repository": {"full_name": gw.repo, "default_branch": "main"},
        "installation": {"id": 1},
        "issue": {"number": number, "pull_request": {"url": "x"}},
        "comment": {"id": comment_id, "body": body, "user": {"login": login, "type": "User"}},
        "sender": {"login": login, "type": "User"},
    }


def summaries(gw: FakeGateway, number: int) -> list[str]:
    return [c.body for c in gw.comments.get(number, []) if c.body.startswith(m.SUMMARY_MARKER)]


def test_good_case_study_passes_and_gets_its_model_label():
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()}, labels=["help wanted"])
    head = gw.pull_request(number).head_sha
    assert run(gw, "pull_request", pr_event(gw, number)) == "reviewed"
    (check,) = gw.runs
    assert (check.name, check.head_sha, check.conclusion, check.title, check.annotations) == (
        "challenge-bot", head, "success", "All clear: 1 file checked", ()
    )
    (summary,) = summaries(gw, number)
    assert summary.splitlines()[:3] == [m.SUMMARY_MARKER, "## ✅ challenge-bot: all checks passed", ""]
    assert f"Checked commit `{head[:7]}` of this pull request: 1 file." in summary
    assert "| added | OPT-175B (Meta AI) | A good case study (`case_studies/meta/good.md`) | The loss spiked at step 14,500. | `loss-spikes` |" in summary
    assert gw.pr_labels[number] == ["help wanted", "model: OPT-175B"]
    assert gw.repo_labels == {"help wanted": ("ededed", ""), "model: OPT-175B": ("0866ff", "Case studies from Meta AI's OPT-175B pretraining run")}
    assert gw.reviews == {}


def test_problems_get_annotations_a_summary_and_suggestions_on_the_diff():
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/broken.md": BROKEN.encode()})
    run(gw, "pull_request", pr_event(gw, number))
    (check,) = gw.runs
    assert check.conclusion == "failure" and check.title == "2 errors in 1 file"
    assert [(a.path, a.start_line, a.level, a.title) for a in check.annotations] == [
        ("case_studies/meta/broken.md", 22, "failure", "CS208 section-name-variant"),
        ("case_studies/meta/broken.md", 25, "failure", "CS203 missing-section"),
    ]
    (summary,) = summaries(gw, number)
    assert "| 22 | [CS208 section-name-variant](https://github.com/pretraining-challenges/pretraining-challenges/blob/main/docs/rules.md#cs208-section-name-variant) | heading '## Bugs / Missteps' should be exactly '## Bugs/Missteps' | apply the suggestion, or run `challenge-bot check --fix` |" in summary
    assert "pip install -e . && challenge-bot check case_studies/meta/broken.md" in summary
    ((review,),) = gw.reviews.values()
    assert review["commit_id"] == gw.pull_request(number).head_sha
    # review.reporter suggestions (the default): a review comment only where one click fixes it.
    assert [(c.path, c.line, c.start_line) for c in review["comments"]] == [("case_studies/meta/broken.md", 22, None)]
    assert "```suggestion\n## Bugs/Missteps\n```" in review["comments"][0].body


def test_three_pushes_keep_one_summary_and_comment_each_problem_once():
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/broken.md": BROKEN.encode()})
    run(gw, "pull_request", pr_event(gw, number))
    gw.push(f"pr-{number}", {"case_studies/meta/broken.md": (BROKEN + "\nMore text.\n").encode()})
    run(gw, "pull_request", pr_event(gw, number, "synchronize"))
    assert len(summaries(gw, number)) == 1
    assert sum(len(r["comments"]) for r in gw.reviews[number]) == 1  # the same suggestion is not made again
    gw.push(f"pr-{number}", {"case_studies/meta/broken.md": GOOD.encode()})
    run(gw, "pull_request", pr_event(gw, number, "synchronize"))
    (summary,) = summaries(gw, number)
    head = gw.pull_request(number).head_sha
    assert "all checks passed" in summary and head[:7] in summary
    assert [c.conclusion for c in gw.runs] == ["failure", "failure", "success"]


def test_a_result_for_an_old_head_is_dropped():
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/broken.md": BROKEN.encode()})
    payload = pr_event(gw, number)
    listed = gw.changed_files

    def push_meanwhile(n):
        files = listed(n)
        gw.push(f"pr-{number}", {"case_studies/meta/broken.md": GOOD.encode()})
        return files

    gw.changed_files = push_meanwhile
    assert run(gw, "pull_request", payload) == "stale"
    assert (gw.runs, gw.comments, gw.reviews, gw.pr_labels[number]) == ([], {}, {}, [])


def test_labels_follow_the_models_and_leave_human_labels_alone():
    gw = FakeGateway()
    number = gw.open_pull(
        {"case_studies/meta/a.md": GOOD.encode(), "case_studies/huggingface/b.md": GOOD.encode()},
        labels=["model: BloombergGPT", "needs review"],
    )
    run(gw, "pull_request", pr_event(gw, number))
    assert gw.pr_labels[number] == ["needs review", "model: IDEFICS", "model: OPT-175B"]
    gw.push(f"pr-{number}", {"case_studies/huggingface/b.md": None})
    run(gw, "pull_request", pr_event(gw, number, "synchronize"))
    assert gw.pr_labels[number] == ["needs review", "model: OPT-175B"]


def test_a_broken_config_in_the_pull_request_fails_visibly():
    gw = FakeGateway()
    broken = gw.file("main", ".github/challenge-bot.yml").replace(b"  - name: Learnings", b"  - name: Main Challenge")
    number = gw.open_pull({".github/challenge-bot.yml": broken, "case_studies/meta/good.md": GOOD.encode()})
    run(gw, "pull_request", pr_event(gw, number))
    (check,) = gw.runs
    assert (check.conclusion, check.title) == ("failure", "The bot's configuration is invalid")
    # The error quotes the pull request's own file: inert, brackets escaped (they render as brackets).
    assert "> .github/challenge-bot.yml: sections\\[4\\].name: 'Main Challenge' is listed twice" in check.summary
    (summary,) = summaries(gw, number)
    assert "sections\\[4\\].name: 'Main Challenge' is listed twice" in summary


def test_a_repository_without_config_is_ignored():
    gw = FakeGateway(files={"README.md": b"hi\n"})
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    assert run(gw, "pull_request", pr_event(gw, number)) == "ignored: no config"
    assert gw.runs == [] and gw.comments == {}


def test_a_pull_request_without_case_studies_posts_no_comment():
    gw = FakeGateway()
    number = gw.open_pull({"docs/notes.md": b"# Notes\n"})
    run(gw, "pull_request", pr_event(gw, number))
    assert [c.title for c in gw.runs] == ["No case studies changed"]
    assert gw.comments == {} and gw.pr_labels[number] == []


def _merged(gw: FakeGateway) -> dict:
    return {
        "action": "closed",
        "repository": {"full_name": gw.repo, "default_branch": "main"},
        "installation": {"id": 1},
        "pull_request": {"number": 1, "merged": True, "base": {"ref": "main"}},
    }


def test_merge_regenerates_the_index_once():
    gw = FakeGateway()
    gw.push("main", {"case_studies/meta/good.md": GOOD.encode()})
    assert run(gw, "pull_request", _merged(gw)) == "index-committed"
    readme = gw.file("main", "README.md").decode()
    assert "| [A good case study](case_studies/meta/good.md) | The loss spiked at step 14,500. | [`loss-spikes`](#loss-spikes) |" in readme
    assert b'"path": "case_studies/meta/good.md"' in gw.file("main", "case_studies/index.json")
    assert gw.messages[gw.branches["main"]] == "Regenerate the case-study index [challenge-bot]"
    head = gw.branches["main"]
    assert run(gw, "pull_request", _merged(gw)) == "index-unchanged"
    assert gw.branches["main"] == head


def test_a_protected_branch_gets_one_rolling_pull_request():
    gw = FakeGateway()
    gw.protected.add("main")
    gw.push("main", {"case_studies/meta/good.md": GOOD.encode()})
    assert run(gw, "pull_request", _merged(gw)) == "index-pull-request"
    gw.push("main", {"case_studies/meta/other.md": GOOD.replace("A good case study", "Other").encode()})
    assert run(gw, "pull_request", _merged(gw)) == "index-pull-request"
    rolling = [p for p in gw.pulls.values() if p["branch"] == m.INDEX_BRANCH]
    assert len(rolling) == 1 and rolling[0]["title"] == "Regenerate the case-study index"
    assert b"Other" in gw.file(m.INDEX_BRANCH, "README.md")


def test_a_race_on_the_branch_is_re_read_and_retried():
    gw = FakeGateway()
    gw.push("main", {"case_studies/meta/good.md": GOOD.encode()})
    commit = gw.commit_files
    raced = []

    def someone_pushes_first(branch, parent, files, message):
        if not raced:
            raced.append(gw.push("main", {"case_studies/meta/late.md": GOOD.replace("A good case study", "Late").encode()}))
        return commit(branch, parent, files, message)

    gw.commit_files = someone_pushes_first
    assert run(gw, "pull_request", _merged(gw)) == "index-committed"
    assert b"Late" in gw.file("main", "README.md") and gw.file("main", "case_studies/meta/late.md")


def push_event(gw: FakeGateway, message: str, paths: list[str]) -> dict:
    return {
        "ref": "refs/heads/main",
        "repository": {"full_name": gw.repo, "default_branch": "main"},
        "installation": {"id": 1},
        "commits": [{"message": message, "added": paths, "modified": [], "removed": []}],
    }


def test_pushes_touching_case_studies_regenerate_and_the_bots_own_are_ignored():
    gw = FakeGateway()
    gw.push("main", {"case_studies/meta/good.md": GOOD.encode()})
    assert run(gw, "push", push_event(gw, "Add a case study", ["case_studies/meta/good.md"])) == "index-committed"
    assert run(gw, "push", push_event(gw, "Docs", ["docs/x.md"])) == "ignored: no case study changed"
    own = push_event(gw, m.INDEX_COMMIT_MESSAGE, ["README.md"])
    assert not router.route("push", None).accepts(own)


@pytest.mark.parametrize(
    ("login", "role", "reply"),
    [
        ("reader", "read", "sorry: `/challenge-bot regenerate-index` needs write, maintain or admin permission on this repository, and yours is `read`. A maintainer can run it for you."),
        ("maintainer", "maintain", "I regenerated the index: commit `{sha}` on `main`."),
    ],
)
def test_regenerate_index_is_gated_by_permission(login, role, reply):
    gw = FakeGateway()
    gw.roles[login] = role
    gw.push("main", {"case_studies/meta/good.md": GOOD.encode()})
    before = gw.branches["main"]
    number = gw.open_pull({"docs/x.md": b"x\n"})
    run(gw, "issue_comment", comment_event(gw, number, "Please:\n\n/challenge-bot regenerate-index", login=login))
    (answer,) = gw.comments[number]
    marker = "<!-- challenge-bot:reply to=900 command=regenerate-index -->"
    assert answer.body == f"{marker}\n@{login}, {reply.format(sha=gw.branches['main'][:7])}"
    assert (gw.branches["main"] != before) == (role == "maintain")


def test_commands_in_quotes_and_code_are_ignored_and_unknown_ones_get_help():
    gw = FakeGateway()
    number = gw.open_pull({"docs/x.md": b"x\n"})
    body = "> /challenge-bot regenerate-index\n\n```\n/challenge-bot recheck\n```\n\n/challenge-bot dance"
    assert run(gw, "issue_comment", comment_event(gw, number, body)) == "commands: dance"
    (answer,) = gw.comments[number]
    assert answer.body == (
        "<!-- challenge-bot:reply to=900 command=dance -->\n@someone, I don't know the command `dance`. "
        "I know these (each on a line of its own):\n\n" + m.COMMANDS
    )
    assert "permission" not in gw.calls


def test_a_retried_delivery_does_not_reply_twice():
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    payload = comment_event(gw, number, "/challenge-bot recheck")
    run(gw, "issue_comment", payload)
    run(gw, "issue_comment", payload)
    replies = [c.body for c in gw.comments[number] if "challenge-bot:reply" in c.body]
    sha = gw.pull_request(number).head_sha[:7]
    assert replies == [f"<!-- challenge-bot:reply to=900 command=recheck -->\n@someone, I reviewed commit `{sha}` again; the summary comment is up to date."]
    assert len(summaries(gw, number)) == 1


def test_bot_comments_and_hostile_command_names_are_not_echoed():
    gw = FakeGateway()
    number = gw.open_pull({"docs/x.md": b"x\n"})
    bot = comment_event(gw, number, "/challenge-bot help")
    bot["sender"]["type"] = bot["comment"]["user"]["type"] = "Bot"
    assert not router.route("issue_comment", "created").accepts(bot)
    run(gw, "issue_comment", comment_event(gw, number, "/challenge-bot {user}<img src=x>@everyone"))
    (answer,) = gw.comments[number]
    assert "I don't know the command `(unreadable)`" in answer.body and "<img" not in answer.body


def test_a_check_run_re_run_reviews_the_pull_request_again():
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    payload = {
        "action": "rerequested",
        "repository": {"full_name": gw.repo, "default_branch": "main"},
        "installation": {"id": 1},
        "check_run": {"name": "challenge-bot", "head_sha": gw.pull_request(number).head_sha, "pull_requests": [{"number": number}]},
    }
    assert router.route("check_run", "rerequested").key(payload) == f"{gw.repo}#{number}"
    assert run(gw, "check_run", payload) == "reviewed"
    assert [c.conclusion for c in gw.runs] == ["success"]
    other = payload | {"check_run": payload["check_run"] | {"name": "some other check"}}
    assert not router.route("check_run", "rerequested").accepts(other)


@pytest.mark.parametrize(
    ("setup", "reply"),
    [
        ("open", "I reviewed commit `{sha}` again; the summary comment is up to date."),
        ("closed", "this pull request is closed, so there is nothing to review."),
    ],
)
def test_recheck_replies_say_what_happened(setup, reply):
    gw = FakeGateway()
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    gw.pulls[number]["state"] = setup
    run(gw, "issue_comment", comment_event(gw, number, "/challenge-bot recheck", login="ada"))
    (answer,) = [c.body for c in gw.comments[number] if "challenge-bot:reply" in c.body]
    sha = gw.pull_request(number).head_sha[:7]
    assert answer == f"<!-- challenge-bot:reply to=900 command=recheck -->\n@ada, {reply.format(sha=sha)}"
