"""The load driver against Django's live server: a few seconds at one user, no errors."""

import re

from matching.models import MentorRequest
from mentorship.loaddriver import STEPS, Driver, table
from mentorship.loadworld import seed_load


def test_driver_walks_the_scenario_without_errors(live_server):
    world = seed_load(users=650)
    assert world.users == 650
    assert world.created > 0
    before = MentorRequest.objects.count()

    driver = Driver(
        base_url=live_server.url,
        password=world.password,
        mentees=world.mentees,
        mentors=world.mentors,
    )
    result = driver.run(users=1, seconds=3)

    assert result.errors == []
    assert result.scenarios >= 1
    assert {s.step for s in result.samples} == set(STEPS)
    assert all(s.ok for s in result.samples)
    # One request per scenario, from the copied students who walked it.
    sent = MentorRequest.objects.count() - before
    assert sent == result.scenarios

    markdown = table([result])
    rows = {line.split(" | ")[1]: line for line in markdown.splitlines()[2:]}
    for step in [*STEPS, "**overall**"]:
        cells = [c.strip() for c in rows[step].strip("|").split("|")]
        users, _name, count, errors, p50, p95, p99, rate = cells
        assert users == "1"
        assert int(count) >= 1
        assert errors == "0"
        assert all(re.fullmatch(r"\d+", v) for v in (p50, p95, p99))
        assert int(p50) <= int(p95) <= int(p99)
        assert float(rate) > 0
