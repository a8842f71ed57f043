"""Hypothesis strategies shared by the test suite (append yours; keep them composable)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from ticketkit import Agent, Comment, Customer, Event, Link, Priority, Team, Ticket, TimerState

# Offsets a real zone can have, to second precision as ISO 8601 keeps them.
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))

aware_datetimes = st.builds(
    lambda dt, tz: dt.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    offsets,
)

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
texts = st.text(max_size=40)
nonblank = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
str_sets = st.frozensets(names, max_size=4)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | texts
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(names, children, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(names, json_values, max_size=4)

priorities = st.sampled_from(list(Priority))

customers = st.builds(
    Customer,
    id=ids,
    name=texts,
    tier=st.sampled_from(["standard", "vip", "svip"]),
    email=st.none() | st.emails(),
    phone=st.none() | st.from_regex(r"\+86 1[3-9]\d{9}", fullmatch=True),
    tenant=ids,
    data=json_objects,
)

agents = st.builds(
    Agent,
    id=ids,
    name=texts,
    tenant=ids,
    teams=str_sets,
    roles=str_sets,
    skills=str_sets,
    capacity=st.integers(0, 50),
    status=st.sampled_from(["online", "away", "offline"]),
    shift=st.none() | names,
)

teams = st.builds(
    Team,
    id=ids,
    name=texts,
    tenant=ids,
    lead=st.none() | ids,
    parent=st.none() | ids,
    calendar=st.none() | names,
)

links = st.builds(Link, kind=st.sampled_from(["related", "duplicate", "merged_into"]), ticket_id=ids)

comments = st.builds(
    Comment,
    ticket_id=ids,
    author=ids,
    body=st.text(max_size=200),
    at=aware_datetimes,
    public=st.booleans(),
    author_kind=st.sampled_from(["agent", "customer", "bot", "system"]),
    automatic=st.booleans(),
)

events = st.builds(
    Event,
    ticket_id=ids,
    kind=st.sampled_from(["ticket.created", "status.changed", "comment.added"]),
    actor=ids,
    at=aware_datetimes,
    data=json_objects,
    version=st.integers(0, 1000),
    tenant=ids,
)


timer_states = st.builds(
    TimerState, rule=nonblank, since=aware_datetimes, fired_at=st.none() | aware_datetimes
)


@st.composite
def tickets(draw: st.DrawFn) -> Ticket:
    """Valid tickets with every field drawn, including unicode and microseconds."""
    created = draw(aware_datetimes)
    return Ticket(
        subject=draw(nonblank),
        created_at=created,
        tenant=draw(ids),
        type=draw(st.sampled_from(["support", "repair", "enquiry"])),
        description=draw(st.text(max_size=300)),
        channel=draw(st.sampled_from(["email", "phone", "web", "app", "wechat", "chatbot", "api"])),
        customer=draw(st.none() | customers),
        category=draw(st.none() | names),
        priority=draw(priorities),
        status=draw(st.sampled_from(["new", "open", "pending", "resolved", "closed"])),
        status_kind=draw(st.sampled_from(["new", "open", "pending", "resolved", "closed"])),
        team=draw(st.none() | ids),
        assignee=draw(st.none() | ids),
        tags=draw(str_sets),
        fields=draw(json_objects),
        updated_at=created + draw(st.timedeltas(timedelta(0), timedelta(days=30))),
        first_response_at=draw(st.none() | aware_datetimes),
        resolved_at=draw(st.none() | aware_datetimes),
        closed_at=draw(st.none() | aware_datetimes),
        parent_id=draw(st.none() | ids),
        links=tuple(draw(st.lists(links, max_size=3))),
        external_ref=draw(st.none() | ids),
        satisfaction=draw(st.none() | st.integers(1, 5)),
        satisfaction_remark=draw(st.none() | texts),
        timers=tuple(draw(st.lists(timer_states, max_size=2))),
        version=draw(st.integers(0, 10_000)),
    )
