"""Import and export of the records: round trips, all or nothing, idempotence, who sees what.

Storage-level tests first (both formats, SQLite or PostgreSQL as conftest chooses), then
/import and /export end to end through the local Bot API.
"""

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.localapi import SentMessage, User
from bot.seed import seed_demo_records
from storage.engine import create_engine, session_scope
from storage.following import ensure_chat, subscribe
from storage.models import (
    Admin,
    AuditEntry,
    Case,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    Hearing,
    Person,
    PersonRelation,
    Role,
    Visibility,
    utcnow,
)
from storage.outbox import expand_due_events
from storage.people import UndoOutcome, add_case, add_hearing, add_person, undo_last_change
from storage.records_io import (
    ImportRejected,
    ImportReport,
    RecordsFileError,
    export_records,
    import_records,
    read_records,
)
from tests.e2e import EDITOR, FOLLOWER, STRANGER, Story, story
from tests.factories import change_status

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TZ = "Asia/Almaty"


@pytest.fixture
async def other_engine(other_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(other_database_url)
    yield engine
    await engine.dispose()


async def _records(engine: AsyncEngine) -> None:
    """The demo people, and a restricted one with two cases (an appeal), hearings with and
    without a date, spellings, sources and relations."""
    await seed_demo_records(engine)
    async with session_scope(engine) as session:
        first = (await session.exec(select(Person).order_by(col(Person.id)))).first()
        assert first is not None and first.id is not None
        person = await add_person(
            session=session,
            name="Sample Person Restricted",
            other_spellings=["Сэмпл Персон"],
            sources=["https://example.org/a", "https://example.org/b"],
            actor_id=None,
            pushed=False,
            visibility=Visibility.RESTRICTED,
            birth_year=1980,
            asylum="applied",
        )
        assert person.id is not None
        trial = await add_case(
            session=session, person_id=person.id, court="Sample court", city="Almaty"
        )
        assert trial.id is not None
        await add_case(
            session=session,
            person_id=person.id,
            court="Sample appeal court",
            city="Almaty",
            appeal_of=trial.id,
            stage="appeal",
        )
        await add_hearing(
            session=session,
            case_id=trial.id,
            starts_at=datetime(2026, 12, 10, 5, 30, tzinfo=UTC),
            place="room 4",
        )
        await add_hearing(session=session, case_id=trial.id, date_note="in spring")
        session.add(
            PersonRelation(person_id=first.id, other_id=person.id, kind="relative", note="sister")
        )


async def _export(engine: AsyncEngine, file_format: str, *, restricted: bool = True) -> str:
    out = io.StringIO()
    async with session_scope(engine) as session:
        await export_records(
            session=session, out=out, file_format=file_format, include_restricted=restricted
        )
    return out.getvalue()


async def _import(
    engine: AsyncEngine, content: str, file_format: str, *, notify: bool = False
) -> ImportReport:
    async with session_scope(engine) as session:
        return await import_records(
            session=session,
            rows=read_records(io.StringIO(content), file_format),
            actor_id=None,
            default_tz=TZ,
            notify=notify,
            now=NOW,
        )


async def _count(engine: AsyncEngine, model: type) -> int:
    async with session_scope(engine) as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


@pytest.mark.parametrize("file_format", ["json", "csv"])
async def test_export_imported_into_an_empty_database_exports_the_same_file(
    engine: AsyncEngine, other_engine: AsyncEngine, file_format: str
) -> None:
    await _records(engine)
    exported = await _export(engine, file_format)

    report = await _import(other_engine, exported, file_format)

    assert (report.added, report.changed, report.unchanged, report.rejected) == (5, 0, 0, [])
    assert await _export(other_engine, file_format) == exported
    # Ids are kept, and new records after the import get new ones.
    async with session_scope(other_engine) as session:
        person = await add_person(session=session, name="Later", actor_id=None)
        case = await add_case(session=session, person_id=person.id or 0)
    assert person.id == 6 and case.id is not None and case.id > 6


@pytest.mark.parametrize("file_format", ["json", "csv"])
async def test_importing_the_same_file_twice_changes_nothing(
    engine: AsyncEngine, other_engine: AsyncEngine, file_format: str
) -> None:
    await _records(engine)
    exported = await _export(engine, file_format)
    await _import(other_engine, exported, file_format)
    events, audits = await _count(other_engine, Event), await _count(other_engine, AuditEntry)

    again = await _import(other_engine, exported, file_format)
    into_source = await _import(engine, exported, file_format)

    assert (again.added, again.changed, again.unchanged) == (0, 0, 5)
    assert (into_source.added, into_source.changed, into_source.unchanged) == (0, 0, 5)
    assert await _count(other_engine, Event) == events
    assert await _count(other_engine, AuditEntry) == audits + 1  # the import's own entry


async def test_a_file_with_bad_rows_writes_nothing_and_names_every_bad_row(
    engine: AsyncEngine,
) -> None:
    content = "\n".join(
        [
            "name;birth_year;asylum;court;hearing_date;hearing_time",
            "Sample Good One;1990;applied;Sample court;2026-12-20;10:00",
            "Sample Bad Year;19x0;;;;",
            "Sample Bad Status;;maybe;;;",
            ";1990;;;;",
            ";1991;;;;",
            "Sample Bad Date;;;Sample court;31.02.2026;10:00",
            "Sample Good Two;;;;;",
        ]
    )

    with pytest.raises(ImportRejected) as rejected:
        await _import(engine, content, "csv")

    assert [(e.row, e.reason) for e in rejected.value.report.rejected] == [
        (3, "bad_number"),
        (4, "bad_status"),
        (5, "name_missing"),
        (6, "name_missing"),
        (7, "bad_date"),
    ]
    assert await _count(engine, Person) == 0
    assert await _count(engine, Event) == 0


async def test_a_hand_written_csv_imports_and_imports_again_unchanged(
    engine: AsyncEngine,
) -> None:
    content = "\n".join(
        [
            "name;spellings;birth_year;court;city;charge;hearing_date;hearing_time",
            "Sample One;Сэмпл Уан | Семпл Уан;1985;Sample court;Almaty;Article 392;"
            "15.12.2026;10:30",
            "Sample One;;;Sample court;Almaty;Article 392;2027-01-20;11:00",
            "Sample Two;;;;;;;",
        ]
    )
    first = await _import(engine, content, "csv")
    second = await _import(engine, content, "csv")

    assert (first.added, second.unchanged, second.changed) == (2, 2, 0)
    async with session_scope(engine) as session:
        hearings = (await session.exec(select(Hearing).order_by(col(Hearing.id)))).all()
        cases = (await session.exec(select(Case))).all()
    assert len(cases) == 1
    assert [h.starts_at for h in hearings] == [
        datetime(2026, 12, 15, 5, 30, tzinfo=UTC),  # Almaty is UTC+5
        datetime(2027, 1, 20, 6, 0, tzinfo=UTC),
    ]


async def test_a_changed_file_changes_only_what_changed_and_says_so(engine: AsyncEngine) -> None:
    await _records(engine)
    exported = json.loads(await _export(engine, "json"))
    exported[0]["location"] = "Sample place"
    exported[4]["asylum"] = "refugee"
    exported[1]["summary"] = "A summary followers are not told about."
    content = json.dumps(exported, ensure_ascii=False)

    report = await _import(engine, content, "json")

    assert (report.added, report.changed, report.unchanged) == (0, 3, 2)
    async with session_scope(engine) as session:
        kinds = (await session.exec(select(Event.kind).where(Event.created_at == NOW))).all()
        audit = (await session.exec(select(AuditEntry.action).where(AuditEntry.at == NOW))).all()
        first = await session.get(Person, exported[0]["id"])
    assert sorted(kinds) == [EventKind.ASYLUM_CHANGED, EventKind.RECORD_CHANGED]
    assert sorted(audit) == [
        EventKind.ASYLUM_CHANGED,
        "import",
        "import_changed",
        EventKind.RECORD_CHANGED,
    ]
    assert first is not None and first.location == "Sample place"


async def test_a_name_that_matches_several_people_is_a_refused_row(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        for _ in range(2):
            await add_person(session=session, name="Sample Twin", actor_id=None)

    with pytest.raises(ImportRejected) as rejected:
        await _import(engine, "name,location\nSample Twin,Almaty\n", "csv")

    [error] = rejected.value.report.rejected
    assert (error.row, error.reason, error.detail) == (2, "name_ambiguous", "#1, #2")


@pytest.mark.parametrize("notify", [False, True])
async def test_an_import_tells_nobody_unless_asked(engine: AsyncEngine, notify: bool) -> None:
    await _import(engine, "name\nSample Person\n", "csv", notify=notify)

    async with session_scope(engine) as session:
        [event] = (await session.exec(select(Event))).all()
    assert event.kind == EventKind.PERSON_ADDED
    assert (event.expanded_at is None) == notify


async def test_export_without_restricted_leaves_out_them_and_their_relations(
    engine: AsyncEngine,
) -> None:
    await _records(engine)

    people = json.loads(await _export(engine, "json", restricted=False))

    assert [p["name"] for p in people] == [
        "Qaisha Aqan",
        "Murager Alimuly",
        "Qaster Musakhanuly",
        "Sairagul Sauytbay",
    ]
    assert people[0]["relations"] == []


@pytest.mark.parametrize(
    ("content", "file_format", "reason"),
    [
        ('{"name": 1}', "json", "not_a_list"),
        ('[{"name": "A"},', "json", "bad_json"),
        ("", "csv", "empty"),
        ("name,shoe_size\nA,42\n", "csv", "unknown_columns"),
        ("birth_year\n1990\n", "csv", "no_name_column"),
    ],
)
async def test_a_file_that_cannot_be_read_is_one_reason(
    engine: AsyncEngine, content: str, file_format: str, reason: str
) -> None:
    with pytest.raises(RecordsFileError) as error:
        await _import(engine, content, file_format)
    assert error.value.reason == reason


async def test_relations_and_appeals_may_name_people_further_down(engine: AsyncEngine) -> None:
    content = json.dumps(
        [
            {
                "name": "Sample A",
                "relations": [{"kind": "co_defendant", "other_name": "Sample B"}],
            },
            {"id": 40, "name": "Sample B", "cases": [{"id": 7, "appeal_of": 8}, {"id": 8}]},
        ]
    )
    await _import(engine, content, "json")

    async with session_scope(engine) as session:
        [relation] = (await session.exec(select(PersonRelation))).all()
        appeal = await session.get(Case, 7)
        first = (await session.exec(select(Person).where(Person.name == "Sample A"))).one()
    assert (relation.person_id, relation.other_id, relation.kind) == (40, first.id, "co_defendant")
    assert appeal is not None and appeal.appeal_of == 8


async def test_a_grace_window_holds_an_announced_import(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        await import_records(
            session=session,
            rows=read_records(io.StringIO("name\nSample Person\n"), "csv"),
            actor_id=7001,
            default_tz=TZ,
            notify=True,
            grace=timedelta(minutes=1),
            now=NOW,
        )
        [event] = (await session.exec(select(Event))).all()
        audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == "import"))).one()
    assert event.not_before == NOW + timedelta(minutes=1) and event.actor_id == 7001
    assert audit.actor_id == 7001


# --- /import and /export, end to end ------------------------------------------------------

SAMPLE = Path(__file__).parent.parent / "bot" / "demo_import.csv"
VIEWER = User(7011, "Viewer", language_code="en")
PLAIN_EDITOR = User(7012, "Plain editor", language_code="en")


async def _send_file(
    s: Story, user: User, filename: str, content: bytes, caption: str | None
) -> SentMessage:
    """`user` sends a file; returns the bot's next message in their chat."""
    before = len(s.api.messages_to(user.id))
    await s.api.user_sends_document(user, None, filename, content, caption)
    return (await s.api.wait_for_messages(user.id, before + 1))[before]


async def _add_admin(database_url: str, user: User, role: Role) -> None:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=user.id, role=role, added_by=EDITOR.id))
    await engine.dispose()


async def test_editor_imports_the_sample_csv_and_nobody_is_told(database_url: str) -> None:
    async with story(database_url) as s:
        await s.say(FOLLOWER, "/subscribe all")
        told_before = len(s.api.messages_to(FOLLOWER.id))

        answer = await _send_file(s, EDITOR, "people.csv", SAMPLE.read_bytes(), "/import")
        again = await _send_file(s, EDITOR, "people.csv", SAMPLE.read_bytes(), "/import")

        assert "People added: 20, changed: 0, unchanged: 0" in (answer.text or "")
        assert "Nobody was told" in (answer.text or "")
        assert "People added: 0, changed: 0, unchanged: 20" in (again.text or "")
        engine = create_engine(database_url)
        async with session_scope(engine) as session:
            waiting = await session.exec(
                select(func.count()).select_from(Event).where(col(Event.expanded_at).is_(None))
            )
            deliveries = await session.exec(select(func.count()).select_from(Delivery))
            people = await session.exec(select(func.count()).select_from(Person))
            assert (waiting.one(), deliveries.one(), people.one()) == (0, 0, 24)
        await engine.dispose()
        assert len(s.api.messages_to(FOLLOWER.id)) == told_before


async def test_import_with_notify_tells_followers(database_url: str) -> None:
    async with story(database_url) as s:
        await s.say(FOLLOWER, "/subscribe all")
        before = len(s.api.messages_to(FOLLOWER.id))

        answer = await _send_file(
            s, EDITOR, "one.csv", b"name\nSample Notified (fictional)\n", "/import --notify"
        )

        assert "Followers will be told" in (answer.text or "")
        [push] = (await s.api.wait_for_messages(FOLLOWER.id, before + 1))[before:]
        assert "Sample Notified" in (push.text or "")


async def test_import_in_reply_to_a_file(database_url: str) -> None:
    async with story(database_url) as s:
        update = await s.api.user_sends_document(
            EDITOR, None, "one.json", b'[{"name": "Sample Replied (fictional)"}]'
        )
        await s.api.wait_for_messages(EDITOR.id, 1)  # what the bot says to a bare file
        sent = SentMessage("", EDITOR.id, update["message"]["message_id"], None, None, None)
        before = len(s.api.messages_to(EDITOR.id))
        await s.api.user_sends(EDITOR, None, "/import", reply_to=sent)
        [answer] = (await s.api.wait_for_messages(EDITOR.id, before + 1))[before:]

        assert "People added: 1" in (answer.text or "")


async def test_a_bad_file_writes_nothing_and_names_each_bad_row(database_url: str) -> None:
    content = b"name;birth_year;asylum\nSample Good (fictional);1990;\n;1991;\nSample X;;maybe\n"
    async with story(database_url) as s:
        answer = await _send_file(s, EDITOR, "bad.csv", content, "/import")
        wrong_type = await _send_file(s, EDITOR, "people.txt", b"name\nA\n", "/import")
        no_file = await s.say(EDITOR, "/import")

        assert answer.text == (
            "Nothing was imported: 2 rows were refused.\n"
            "Row 3: the name is missing\n"
            "Row 4: not one of the status words (asylum: maybe)"
        )
        assert "Only .json and .csv files" in (wrong_type.text or "")
        assert "Send a .json or .csv file" in (no_file.text or "")
        engine = create_engine(database_url)
        async with session_scope(engine) as session:
            count = await session.exec(select(func.count()).select_from(Person))
            assert count.one() == 4
        await engine.dispose()


async def test_only_editors_import(database_url: str) -> None:
    await _add_admin(database_url, VIEWER, Role.VIEWER)
    async with story(database_url) as s:
        for user, refusal in (
            (STRANGER, "This command is for editors only."),
            (VIEWER, "You are a viewer: you can see the records, but not change them."),
        ):
            answer = await _send_file(s, user, "p.csv", b"name\nSample Intruder\n", "/import")
            assert answer.text == refusal
        engine = create_engine(database_url)
        async with session_scope(engine) as session:
            found = await session.exec(select(Person).where(Person.name == "Sample Intruder"))
            assert found.first() is None
        await engine.dispose()


async def test_export_shows_restricted_people_to_owners_and_viewers_only(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await _records(engine)
    await engine.dispose()
    await _add_admin(database_url, VIEWER, Role.VIEWER)
    await _add_admin(database_url, PLAIN_EDITOR, Role.EDITOR)
    async with story(database_url) as s:
        owner = await s.say(EDITOR, "/export")
        viewer = await s.say(VIEWER, "/export csv")
        editor = await s.say(PLAIN_EDITOR, "/export json")
        stranger = await s.say(STRANGER, "/export")
        wrong = await s.say(EDITOR, "/export xml")

    def names(sent: SentMessage) -> list[str]:
        assert sent.document is not None
        if (sent.document_filename or "").endswith(".csv"):
            rows = csv.DictReader(io.StringIO(sent.document.decode()))
            return list(dict.fromkeys(row["name"] for row in rows))
        return [person["name"] for person in json.loads(sent.document)]

    assert "Sample Person Restricted" in names(owner) and len(names(owner)) == 5
    assert "Sample Person Restricted" in names(viewer) and len(names(viewer)) == 5
    assert "Sample Person Restricted" not in names(editor) and len(names(editor)) == 4
    assert "Public records only" in (editor.text or "")
    assert stranger.document is None
    assert stranger.text == "This command is for editors and viewers only."
    assert wrong.document is None and "/export [json|csv]" in (wrong.text or "")


@pytest.mark.parametrize(
    ("file_format", "content", "reason"),
    [
        ("csv", "name;summary\nA;" + "x" * 200_000 + "\n", "bad_csv"),
        ("json", "[" * 100_000 + "]" * 100_000, "bad_json"),
    ],
)
def test_a_file_no_parser_can_read_is_refused_as_a_whole(
    file_format: str, content: str, reason: str
) -> None:
    with pytest.raises(RecordsFileError) as refused:
        list(read_records(io.StringIO(content), file_format))
    assert refused.value.reason == reason


async def test_an_import_that_restricts_a_person_drops_what_was_owed_to_outsiders(
    engine: AsyncEngine,
) -> None:
    await seed_demo_records(engine)
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=100, kind="private", language="en")
        await subscribe(session=session, chat_id=100, person_id=1)
        person = await session.get(Person, 1)
        await change_status(session, person, "refugee")
    async with session_scope(engine) as session:
        assert await expand_due_events(session=session, now=utcnow()) == 1
    await _import(
        engine, json.dumps([{"id": 1, "name": "Qaisha Aqan", "visibility": "restricted"}]), "json"
    )
    async with session_scope(engine) as session:
        (delivery,) = (await session.exec(select(Delivery))).all()
        person = await session.get(Person, 1)
    assert person is not None and person.visibility == "restricted"
    assert delivery.state == DeliveryState.DROPPED


async def test_undo_does_not_take_back_an_import(engine: AsyncEngine) -> None:
    await _import(engine, "name;asylum\nSample Aidar;applied\n", "csv")
    async with session_scope(engine) as session:
        await import_records(
            session=session,
            rows=read_records(io.StringIO("name;asylum\nSample Aidar;refugee\n"), "csv"),
            actor_id=7,
            default_tz=TZ,
            notify=True,
            now=NOW,
        )
        kinds = (await session.exec(select(Event.kind).where(Event.actor_id == 7))).all()
    assert EventKind.ASYLUM_CHANGED in kinds  # a change /undo would take back, were it typed
    async with session_scope(engine) as session:
        result = await undo_last_change(session=session, actor_id=7)
    assert result.outcome == UndoOutcome.NOTHING
