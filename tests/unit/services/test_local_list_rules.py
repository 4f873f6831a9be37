"""The derived local authorization list (services/local_list_rules.py): pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gateway.service import decide, id_tag_info
from services import local_list_rules as rules
from services.local_list_rules import TokenFacts
from simulators.local_list import LocalList

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LATER = AT + timedelta(days=30)
EARLIER = AT - timedelta(days=1)

SITE = [
    TokenFacts("ACTIVE-SUB", "active", "active"),
    TokenFacts("BLOCKED", "blocked", "active"),
    TokenFacts("EXPIRED", "active", "active", EARLIER),
    TokenFacts("EXPIRES", "active", "active", LATER),
    TokenFacts("NOBODY", "active", None),
    TokenFacts("SUSPENDED", "active", "suspended"),
    TokenFacts("INVITED", "active", "invited"),
]


def test_direct_charger_accepts_every_unblocked_unexpired_tag() -> None:
    listed = rules.derive(False, "open", SITE, AT)
    assert listed == {
        "ACTIVE-SUB": {"status": "Accepted"},
        "BLOCKED": {"status": "Blocked"},
        "EXPIRED": {"status": "Expired", "expiryDate": EARLIER.isoformat()},
        "EXPIRES": {"status": "Accepted", "expiryDate": LATER.isoformat()},
        "INVITED": {"status": "Accepted"},
        "NOBODY": {"status": "Accepted"},
        "SUSPENDED": {"status": "Accepted"},
    }


def test_monthly_charger_accepts_only_active_subscribers() -> None:
    listed = rules.derive(True, "open", SITE, AT)
    accepted = {tag for tag, info in listed.items() if info["status"] == "Accepted"}
    assert accepted == {"ACTIVE-SUB", "EXPIRES"}
    assert listed["NOBODY"] == {"status": "Invalid"}  # a non-subscriber: never Accepted
    assert listed["INVITED"] == {"status": "Invalid"}
    assert listed["SUSPENDED"] == {"status": "Blocked"}
    assert listed["BLOCKED"] == {"status": "Blocked"}
    assert listed["EXPIRED"]["status"] == "Expired"


def test_an_expiry_turns_accepted_into_expired_at_its_time() -> None:
    token = [TokenFacts("T", "active", None, LATER)]
    assert rules.derive(False, "open", token, AT)["T"]["status"] == "Accepted"
    assert rules.derive(False, "open", token, LATER)["T"]["status"] == "Expired"
    assert rules.next_expiry(rules.derive(False, "open", token, AT)) == LATER
    assert rules.next_expiry(rules.derive(False, "open", token, LATER)) is None


states = st.sampled_from(["active", "blocked"])
sub_states = st.none() | st.sampled_from(["invited", "active", "suspended", "cancelled"])
expiries = st.none() | st.sampled_from([EARLIER, AT, LATER])


@given(
    monthly=st.booleans(),
    policy=st.sampled_from(["open", "registered"]),
    state=states,
    sub=sub_states,
    expires=expiries,
)
def test_every_entry_is_what_authorize_would_answer(
    monthly: bool, policy: str, state: str, sub: str | None, expires: datetime | None
) -> None:
    """The list never disagrees with Authorize: same verdict, same idTagInfo."""
    listed = rules.derive(monthly, policy, [TokenFacts("T", state, sub, expires)], AT)
    status, _ = decide(monthly, state, sub, expires, policy, AT)
    assert listed == {"T": id_tag_info(status, expires)}
    if monthly and sub != "active":
        assert listed["T"]["status"] != "Accepted"


def test_unknown_holdings_give_a_full_update() -> None:
    wanted = rules.derive(False, "open", SITE[:2], AT)
    update = rules.difference(None, wanted)
    assert update is not None and update.update_type == "Full"
    assert update.payload(3) == {
        "listVersion": 3,
        "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "ACTIVE-SUB", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "BLOCKED", "idTagInfo": {"status": "Blocked"}},
        ],
    }


def test_a_differential_holds_only_changes_and_removals() -> None:
    held = {"A": {"status": "Accepted"}, "B": {"status": "Accepted"}, "GONE": {"status": "Blocked"}}
    wanted = {
        "A": {"status": "Accepted"},
        "B": {"status": "Blocked"},
        "NEW": {"status": "Accepted"},
    }
    update = rules.difference(held, wanted)
    assert update is not None and update.update_type == "Differential"
    assert update.entries == (
        {"idTag": "B", "idTagInfo": {"status": "Blocked"}},
        {"idTag": "NEW", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "GONE"},
    )
    assert rules.applied(held, update.payload(2)) == wanted
    assert rules.difference(wanted, wanted) is None  # nothing to send


@given(
    held=st.dictionaries(
        st.sampled_from("ABCDEF"), st.sampled_from(["Accepted", "Blocked", "Invalid"]), max_size=6
    ),
    wanted=st.dictionaries(
        st.sampled_from("ABCDEF"), st.sampled_from(["Accepted", "Blocked", "Expired"]), max_size=6
    ),
)
def test_applying_the_difference_gives_the_wanted_list(
    held: dict[str, str], wanted: dict[str, str]
) -> None:
    """On our side (applied) and on a charger's (the simulator's list) alike."""
    have = {t: {"status": s} for t, s in held.items()}
    want = {t: {"status": s} for t, s in sorted(wanted.items())}
    update = rules.difference(have, want)
    if update is None:
        assert have == want
        return
    assert rules.applied(have, update.payload(2)) == want
    charger = LocalList()
    charger.entries, charger.version = dict(have), 1

    class Enabled:
        def flag(self, key: str) -> bool:
            return True

    assert charger.send(update.payload(2), Enabled())["status"] == "Accepted"  # type: ignore[arg-type]
    assert charger.entries == want


def test_problems_name_what_is_wrong() -> None:
    ok = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": []}
    assert rules.problems(ok) is None
    assert "listVersion" in str(rules.problems({**ok, "listVersion": 0}))
    assert "listVersion" in str(rules.problems({**ok, "listVersion": 2**31}))
    twice = [{"idTag": "A", "idTagInfo": {"status": "Accepted"}}] * 2
    assert "given twice" in str(rules.problems({**ok, "localAuthorizationList": twice}))
    bare = [{"idTag": "A"}]
    assert "needs idTagInfo" in str(rules.problems({**ok, "localAuthorizationList": bare}))
    assert (
        rules.problems({**ok, "updateType": "Differential", "localAuthorizationList": bare}) is None
    )
