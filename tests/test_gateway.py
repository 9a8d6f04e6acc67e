"""What only the PyGithub gateway can do: meet GitHub failing. The rest of its behaviour, shared with
the in-memory fake, is in test_gateway_contract.py."""

from __future__ import annotations

import pytest

import logging
import threading

from bot.core.github_data import GatewayError, NotFound, RateLimited, TransientError
from bot.github.pygithub import AppGateways, EtagCache, PyGithubGateway, TokenGateways, retry_policy
from bot.github.ratelimit import Budget, RateGates
from fake_github import FakeGitHub

REPO_NAME = "octo/kb"


@pytest.fixture
def gw(fake_github: FakeGitHub) -> PyGithubGateway:
    fake_github.create_repo(REPO_NAME, files={"README.md": "# KB\n"})
    fake_github.create_branch(REPO_NAME, "feature")
    fake_github.commit(REPO_NAME, "feature", {"a.md": "a\n"})
    fake_github.open_pull_request(REPO_NAME, "feature")
    return _gateways(fake_github, RateGates())(None, REPO_NAME)


def _gateways(fake: FakeGitHub, gates: RateGates) -> TokenGateways:
    return TokenGateways(fake.installation_token(), fake.base_url, write_interval=None, retry=retry_policy(total=2, backoff=0), gates=gates)


def test_server_errors_that_outlast_the_retries_are_transient(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    fake_github.inject("pulls/get", 502, times=3)
    with pytest.raises(TransientError):
        gw.pull_request(1)
    assert fake_github.count("pulls/get") == 3  # the first try and two retries


def test_a_rate_limited_write_is_transient_and_not_repeated(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    fake_github.inject("issues/create-comment", 403, body={"message": "You have exceeded a secondary rate limit."})
    with pytest.raises(RateLimited) as raised:
        gw.create_comment(1, "hello")
    assert (raised.value.status, fake_github.count("issues/create-comment"), fake_github.issue_comments(REPO_NAME, 1)) == (403, 1, [])
    limited = fake_github.requests_of("issues/create-comment")[0]
    assert limited.at + 59 <= raised.value.retry_at <= limited.at + 61  # no Retry-After: GitHub says wait a minute


def test_other_refusals_keep_githubs_status(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    fake_github.inject("issues/update-comment", 403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GatewayError) as raised:
        gw.update_comment(1, "hello")
    assert (type(raised.value), raised.value.status, str(raised.value)) == (GatewayError, 403, "GitHub answered 403: Resource not accessible by integration")


# --- conditional reads ------------------------------------------------------------------------------


def test_listing_open_pull_requests_again_costs_no_budget(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO_NAME, files={"README.md": "# KB\n"})
    fake_github.create_branch(REPO_NAME, "feature")
    fake_github.open_pull_request(REPO_NAME, "feature")
    gates = RateGates()
    gw = _gateways(fake_github, gates)(None, REPO_NAME)
    first = gw.open_pulls()
    spent = gates.budgets()["token"].remaining
    assert gw.open_pulls() == first and [p.number for p in first] == [1]
    assert [r.status for r in fake_github.requests_of("pulls/list")] == [200, 304]
    assert gates.budgets()["token"].remaining == spent  # GitHub does not count a 304
    fake_github.close_pull_request(REPO_NAME, 1)
    assert gw.open_pulls() == []
    assert [r.status for r in fake_github.requests_of("pulls/list")] == [200, 304, 200]


def test_open_pull_requests_are_read_page_by_page(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO_NAME, files={"README.md": "# KB\n"})
    for i in range(105):
        fake_github.create_branch(REPO_NAME, f"b{i}")
        fake_github.open_pull_request(REPO_NAME, f"b{i}")
    gw = _gateways(fake_github, RateGates())(None, REPO_NAME)
    assert [p.number for p in gw.open_pulls()] == list(range(105, 0, -1))
    assert [p.number for p in gw.open_pulls()] == list(range(105, 0, -1))
    assert [r.status for r in fake_github.requests_of("pulls/list")] == [200, 200, 304, 304]


# --- rate limits --------------------------------------------------------------------------------------


class Clock:
    """A clock that only moves when something sleeps: waits are measured, never slept."""

    def __init__(self, now: float) -> None:
        self.now, self.slept = now, []  # type: ignore[var-annotated]

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_retry_after_is_kept_to_the_second_before_the_request_goes_again(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    import time

    clock = Clock(time.time())
    gates = RateGates(max_wait=60, clock=clock, sleep=clock.sleep)
    gateway = _gateways(fake_github, gates)(None, REPO_NAME)
    fake_github.inject("pulls/get", 429, retry_after=17)
    assert gateway.pull_request(1).number == 1
    assert clock.slept == [17]  # waited exactly what GitHub asked, then asked again
    assert [r.status for r in fake_github.requests_of("pulls/get")] == [429, 200]


def test_a_wait_longer_than_allowed_raises_and_sends_nothing_until_then(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    import time

    clock = Clock(time.time())
    gates = RateGates(max_wait=5, clock=clock, sleep=clock.sleep)
    gateway = _gateways(fake_github, gates)(None, REPO_NAME)
    fake_github.inject("pulls/get", 403, retry_after=120)
    with pytest.raises(RateLimited) as raised:
        gateway.pull_request(1)
    assert (raised.value.retry_at, raised.value.status) == (clock.now + 120, 403)
    clock.now += 100
    for read in (lambda: gateway.pull_request(1), lambda: gateway.changed_files(1), gateway.open_pulls):
        with pytest.raises(RateLimited) as again:
            read()
        assert again.value.retry_at == raised.value.retry_at
    assert fake_github.count() == 1  # the refused read: nothing while the wait lasts
    clock.now += 16  # 4 s before the time: a wait short enough to sleep
    assert gateway.pull_request(1).number == 1
    assert clock.slept == [4]


def test_a_spent_budget_waits_for_the_reset_and_other_installations_keep_going(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO_NAME, files={"README.md": "# KB\n"})
    fake_github.create_repo("acme/notes", files={"README.md": "# Notes\n"})
    fake_github.add_installation(8000001, ["acme/notes"])
    gateways = AppGateways(fake_github.app_id, fake_github.private_key_pem, fake_github.base_url, write_interval=None, retry=retry_policy(total=1, backoff=0), gates=RateGates(max_wait=0))
    ours, theirs = gateways(fake_github.installation_id, REPO_NAME), gateways(8000001, "acme/notes")
    assert ours.default_branch() == theirs.default_branch() == "main"
    reset = fake_github.exhaust_rate_limit(fake_github.installation_id, reset_in=600)
    with pytest.raises(RateLimited) as raised:
        ours.read_file("README.md", "main")
    assert raised.value.retry_at == reset  # x-ratelimit-reset, as GitHub gave it
    before = fake_github.count()
    with pytest.raises(RateLimited):
        ours.tree("main")
    assert fake_github.count() == before  # nothing sent to the limited installation
    assert theirs.read_file("README.md", "main") == b"# Notes\n"  # the other installation keeps going
    budgets = gateways.gates.budgets()
    assert budgets[f"installation:{fake_github.installation_id}"] == Budget(0, 5000, reset, reset)
    assert budgets["installation:8000001"].remaining == 4998 and budgets["installation:8000001"].retry_at == 0


def test_the_budget_is_reported_and_logged_as_it_runs_low(fake_github: FakeGitHub, gw: PyGithubGateway, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, int | None]] = []
    gates = RateGates()
    gates.subscribe(lambda key, budget: seen.append((key, budget.remaining)))
    gateway = _gateways(fake_github, gates)(None, REPO_NAME)
    gateway.default_branch()
    assert seen == [("token", 4999)]
    with caplog.at_level(logging.INFO, logger="challenge_bot"):
        gates.gate("token").after(200, {"x-ratelimit-remaining": "2400", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1"})
        gates.gate("token").after(200, {"x-ratelimit-remaining": "2399", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1"})
        gates.gate("token").after(200, {"x-ratelimit-remaining": "1200", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1"})
    assert [r.getMessage() for r in caplog.records] == ["GitHub budget of token: 2400 of 5000 requests left", "GitHub budget of token: 1200 of 5000 requests left"]


def test_graphqls_budget_is_its_own_and_only_its_end_holds_the_credential_back() -> None:
    gates = RateGates()
    gate = gates.gate("installation:1")
    gate.after(200, {"x-ratelimit-remaining": "2400", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1", "x-ratelimit-resource": "core"})
    gate.after(200, {"x-ratelimit-remaining": "4990", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1", "x-ratelimit-resource": "graphql"})
    assert (gate.budget().remaining, gate.budget().retry_at) == (2400, 0.0)  # the REST budget, as it was
    gate.after(200, {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "4102444800", "x-ratelimit-resource": "graphql"})
    assert gate.budget().retry_at == 4102444800.0  # spent: nothing before the reset


def test_a_conditional_read_of_what_is_not_there_is_not_found(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    gone = _gateways(fake_github, RateGates())(None, "octo/missing")
    with pytest.raises(NotFound):
        gone.open_pulls()


def test_the_etag_cache_keeps_the_most_recent_urls() -> None:
    cache = EtagCache(size=2)
    for url in ("a", "b", "a", "c"):
        cache.put(url, f'W/"{url}"', [url], None)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (('W/"a"', ["a"], None), None, ('W/"c"', ["c"], None))


def test_a_request_refused_again_and_again_gives_up_after_a_few_waits(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    import time

    clock = Clock(time.time())
    gateway = _gateways(fake_github, RateGates(max_wait=60, clock=clock, sleep=clock.sleep))(None, REPO_NAME)
    fake_github.inject("pulls/get", 429, retry_after=1, times=10)
    with pytest.raises(RateLimited) as raised:
        gateway.pull_request(1)
    assert (raised.value.status, clock.slept, fake_github.count("pulls/get")) == (429, [1, 1, 1], 4)


# --- threads ------------------------------------------------------------------------------------------


def test_threads_sharing_an_installations_client_each_get_their_own_answer(fake_github: FakeGitHub, gw: PyGithubGateway) -> None:
    """The worker threads share one client per installation. Here thread A is held between handing
    PyGithub its request and reading the answer while thread B makes a whole request of its own:
    each must still get the answer to its own request (before, A was sent B's and got B's answer)."""
    fake_github.create_branch(REPO_NAME, "second")
    fake_github.commit(REPO_NAME, "second", {"b.md": "b\n"})
    fake_github.open_pull_request(REPO_NAME, "second")
    requester = gw._requester
    connection_class = getattr(requester, "_Requester__connectionClass")  # PyGithub's private name, as gate_requests uses it
    a_waits, b_done = threading.Event(), threading.Event()

    class HoldingA(connection_class):  # type: ignore[valid-type,misc]
        def request(self, *args: object, **kwargs: object) -> None:
            super().request(*args, **kwargs)
            if threading.current_thread().name == "A":
                a_waits.set()
                assert b_done.wait(10)

    setattr(requester, "_Requester__connectionClass", HoldingA)
    setattr(requester, "_Requester__connection", None)  # the next request makes the shared connection, of that class
    got: dict[str, int] = {}

    def read(number: int) -> None:
        got[threading.current_thread().name] = gw.pull_request(number).number

    a = threading.Thread(target=read, args=(1,), name="A")
    a.start()
    assert a_waits.wait(10)
    def read_then_release_a() -> None:
        read(2)
        b_done.set()

    b = threading.Thread(target=read_then_release_a, name="B")
    b.start()
    b.join(10)
    a.join(10)
    assert got == {"A": 1, "B": 2}
    assert [r.path.rsplit("/", 1)[1] for r in fake_github.requests_of("pulls/get")] == ["2", "1"]
