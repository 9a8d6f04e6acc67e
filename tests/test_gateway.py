"""The PyGithub gateway against the fake GitHub over HTTP: intents in, GitHub's state out."""

from __future__ import annotations

import pytest

from bot.github.pygithub import TokenGateways, retry_policy
from bot.core.github_data import LabelSpec, NotFound
from fakes import base_files
from helpers import GOOD

REPO_NAME = "octo/kb"


@pytest.fixture
def gw(fake_github):
    fake_github.create_repo(REPO_NAME, files=base_files())
    token = fake_github.add_token("ghs_gateway_test_token")
    return TokenGateways(token, fake_github.base_url, write_interval=None, retry=retry_policy(total=2, backoff=0))(None, REPO_NAME)


def _pr(fake, files) -> int:
    fake.create_branch(REPO_NAME, "contrib")
    fake.commit(REPO_NAME, "contrib", files, author="contributor")
    return fake.open_pull_request(REPO_NAME, "contrib")


def test_labels_with_slashes_are_created_added_and_removed(fake_github, gw):
    number = _pr(fake_github, {"case_studies/meta/a.md": GOOD})
    gw.ensure_labels([LabelSpec("area/kb: meta", "0866ff", "Case studies of one model")])
    gw.add_labels(number, ["area/kb: meta"])
    assert fake_github.pr_labels(REPO_NAME, number) == ["area/kb: meta"]
    gw.remove_label(number, "area/kb: meta")
    gw.remove_label(number, "area/kb: meta")  # already gone: not an error
    assert fake_github.pr_labels(REPO_NAME, number) == []
    assert fake_github.labels(REPO_NAME)["area/kb: meta"] == {"color": "0866ff", "description": "Case studies of one model"}


def test_reading_files_blobs_and_trees(fake_github, gw):
    number = _pr(fake_github, {"case_studies/meta/a.md": GOOD, "case_studies/meta/assets/x.png": b"\x89PNG\0"})
    head = fake_github.branch_sha(REPO_NAME, "contrib")
    files = {f.path: f for f in gw.changed_files(number)}
    assert sorted(files) == ["case_studies/meta/a.md", "case_studies/meta/assets/x.png"]
    assert files["case_studies/meta/assets/x.png"].patch is None
    assert gw.read_blob(files["case_studies/meta/a.md"].sha) == GOOD.encode()
    assert gw.read_file("case_studies/meta/a.md", head) == GOOD.encode()
    assert gw.read_file("case_studies/meta/a.md", "main") is None
    assert {e.path: e.size for e in gw.tree(head)}["case_studies/meta/assets/x.png"] == 5
    assert gw.branch_sha("no-such-branch") is None
    assert (gw.find_open_pull("contrib", "main"), gw.find_open_pull("elsewhere", None)) == (number, None)


def test_not_found_is_its_own_error(fake_github, gw):
    with pytest.raises(NotFound):
        gw.pull_request(999)
