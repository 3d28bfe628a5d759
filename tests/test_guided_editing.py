"""/edit end to end: a person, a field, a value by buttons or typed, a source, a level, and the
same preview as the typed commands; /cancel; a restart in the middle; rights at every step."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.localapi import SentMessage, User
from handlers.guided import change_for, parse_birth_year, parse_source, parse_typed
from handlers.i18n import t
from handlers.parsing import BadArguments, Provenance
from storage.engine import create_engine, session_scope
from storage.models import Admin, Case, Event, EventKind, Person, Role, Verification
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    STRANGER,
    Story,
    answer_to,
    eventually,
    story,
)
from tests.test_authorization import make_editor

REFUSED = "This command is for editors only."


def _data(message: SentMessage, label: str) -> str:
    """The callback data of the button whose text starts with `label`."""
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    found = [b["callback_data"] for row in rows for b in row if b["text"].startswith(label)]
    assert found, (label, message.reply_markup)
    return str(found[0])


async def _press(bot: Story, message: SentMessage, label: str, user: User = EDITOR) -> SentMessage:
    return await bot.press(user, message, _data(message, label))


async def _row(database_url: str, model: Any, *where: Any) -> Any:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        found = (await session.exec(select(model).where(*where))).first()
    await engine.dispose()
    return found


async def _person(database_url: str, name: str) -> Person:
    person = await _row(database_url, Person, col(Person.name) == name)
    assert person is not None
    return person  # type: ignore[no-any-return]


async def _events(database_url: str, person_id: int) -> list[Event]:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        statement = select(Event).where(col(Event.person_id) == person_id)
        events = list((await session.exec(statement.order_by(col(Event.id)))).all())
    await engine.dispose()
    return events


async def _skip_source_and_level(bot: Story, asked: SentMessage) -> SentMessage:
    assert "source link" in (asked.text or ""), asked.text
    level = await _press(bot, asked, "Skip")
    assert "How is it known?" in (level.text or "")
    return await _press(bot, level, "Skip")


async def test_a_status_chosen_by_buttons_is_previewed_and_pushed_with_its_source(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        fields = await bot.say(EDITOR, "/edit Qaisha Aqan")
        assert "Editing <b>Qaisha Aqan</b>" in (fields.text or "")
        statuses = await _press(bot, fields, "Asylum status")
        source = await _press(bot, statuses, "refugee")
        level = await bot.say(EDITOR, "https://example.org/decision")
        preview = await _press(bot, level, "📄 Document")
        text = preview.text or ""
        assert text.startswith("Saved for <b>Qaisha Aqan</b>") and "refugee" in text
        assert "example.org/decision" in text and "1 chat will be told" in text
        assert len(preview.callback_data) == 2  # Undo, Don't notify
        pushed = await bot.api.wait_for_messages(FOLLOWER.id, 2)
        assert "refugee" in (pushed[-1].text or "")
        assert "source link" in (source.text or "")
    person = await _person(database_url, "Qaisha Aqan")
    assert person.asylum == "refugee"
    last = (await _events(database_url, person.id or 0))[-1]
    assert (last.source, last.verification) == ("https://example.org/decision", "document")


async def test_a_typed_date_is_checked_and_a_wrong_one_gets_the_hint_again(
    database_url: str,
) -> None:
    day = datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(days=40)
    async with story(database_url) as bot:
        fields = await bot.say(EDITOR, "/edit Murager Alimuly")
        hint = await _press(bot, fields, "Hearing date")
        assert "DD.MM.YYYY HH:MM, e.g. 03.12.2026 10:00" in (hint.text or "")
        person = await _person(database_url, "Murager Alimuly")
        before = len(await _events(database_url, person.id or 0))
        wrong = await bot.say(EDITOR, "31.02.2030 10:00")
        assert "That date or time does not exist." in (wrong.text or "")
        assert "DD.MM.YYYY HH:MM" in (wrong.text or "")
        assert len(await _events(database_url, person.id or 0)) == before
        asked = await bot.say(EDITOR, f"{day:%d.%m.%Y} 11:30")
        preview = await _skip_source_and_level(bot, asked)
        assert (preview.text or "").startswith("Saved for <b>Murager Alimuly</b>")
        assert t("en", "provenance.no_source") in (preview.text or "")
    last = (await _events(database_url, person.id or 0))[-1]
    assert last.kind == EventKind.HEARING_SET and last.actor_id == EDITOR.id


async def test_a_free_text_field_is_typed_and_shown_old_to_new(database_url: str) -> None:
    async with story(database_url) as bot:
        fields = await bot.say(EDITOR, "/edit Qaisha Aqan")
        hint = await _press(bot, fields, "Court")
        assert "Now: court in Zharkent" in (hint.text or "")
        asked = await bot.say(EDITOR, "Almaty regional court")
        preview = await _skip_source_and_level(bot, asked)
        assert "court: court in Zharkent → Almaty regional court" in (preview.text or "")
        lawyer = await _press(bot, await bot.say(EDITOR, "/edit Qaisha Aqan"), "Lawyer")
        assert "made public" in (lawyer.text or "")
        await _skip_source_and_level(bot, await bot.say(EDITOR, "Aiman Umarova"))
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
        assert "Lawyer: Aiman Umarova" in (card.text or "")


async def test_a_relation_is_added_by_id_with_a_note_and_shown_on_both_cards(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        murager = await _person(database_url, "Murager Alimuly")
        fields = await bot.say(EDITOR, "/edit Qaster Musakhanuly")
        kinds = await _press(bot, fields, "Relation")
        hint = await _press(bot, kinds, t("en", "guided.add.co_defendant"))
        assert "#12: same case" in (hint.text or "")
        nobody = await bot.say(EDITOR, "Nobody Atall")
        assert "Nobody found" in (nobody.text or "")
        asked = await bot.say(EDITOR, f"#{murager.id}: same border crossing")
        preview = await _skip_source_and_level(bot, asked)
        assert f"co-defendant: Murager Alimuly #{murager.id} (same border crossing)" in (
            preview.text or ""
        )
        card = await bot.say(FOLLOWER, "/person Murager Alimuly")
        assert "Co-defendants: Qaster Musakhanuly #" in (card.text or "")
        # And taken off again by its button.
        kinds = await _press(bot, await bot.say(EDITOR, "/edit Qaster Musakhanuly"), "Relation")
        removed = await _press(bot, kinds, "✖ Murager Alimuly")
        assert "removed" in (removed.text or "")
        card = await bot.say(FOLLOWER, "/person Murager Alimuly")
        assert "Co-defendants" not in (card.text or "")


async def test_an_appeal_is_a_new_case_whose_hearing_reaches_person_and_court_followers(
    database_url: str,
) -> None:
    day = datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(days=20)
    async with story(database_url) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        fields = await bot.say(EDITOR, "/edit Qaisha Aqan")
        stages = await _press(bot, fields, "Appeal")
        court = await _press(bot, stages, "appeal")
        assert "Type the court" in (court.text or "")
        preview = await _skip_source_and_level(bot, await bot.say(EDITOR, "Almaty regional court"))
        assert "appeal" in (preview.text or "")
        # The follower is told of the appeal (after the reply to /subscribe) ...
        told = await bot.api.wait_for_messages(FOLLOWER.id, 2)
        assert "appeal, Almaty regional court" in (told[-1].text or "")
        followed = await bot.say(BYSTANDER, "/subscribe court Almaty regional court")
        assert "Almaty regional court" in (followed.text or "")
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {day:%d.%m.%Y} 10:00")
        # ... and of its hearing, as is the follower of the appeal's court.
        to_follower = await bot.api.wait_for_messages(FOLLOWER.id, 3)
        assert "hearing" in (to_follower[-1].text or "")
        bystander = await bot.api.wait_for_messages(BYSTANDER.id, 2)
        assert "Qaisha Aqan" in (bystander[-1].text or "")
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
        assert "Appeal of the case: court in Zharkent" in (card.text or "")
    person = await _person(database_url, "Qaisha Aqan")
    appeal = await _row(database_url, Case, col(Case.court) == "Almaty regional court")
    assert appeal.person_id == person.id and appeal.appeal_of is not None
    assert appeal.stage == "appeal"


async def test_other_spellings_are_added_and_removed_and_lookups_follow(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        choices = await _press(bot, await bot.say(EDITOR, "/edit Qaster Musakhanuly"), "Other")
        await _press(bot, choices, t("en", "guided.add.add"))
        preview = await bot.say(EDITOR, "Kaster Mussakhanov")
        assert "spelling of the name: Kaster Mussakhanov" in (preview.text or "")
        found = await bot.say(FOLLOWER, "/person Mussakhanov")
        assert "Qaster Musakhanuly" in (found.text or "")
        choices = await _press(bot, await bot.say(EDITOR, "/edit Qaster Musakhanuly"), "Other")
        removed = await _press(bot, choices, "✖ Kaster Mussakhanov")
        assert "removed" in (removed.text or "")
        nobody = await bot.say(FOLLOWER, "/person Mussakhanov")
        assert "Nobody found" in (nobody.text or "")


async def test_cancel_leaves_the_edit_and_text_is_a_search_again(database_url: str) -> None:
    async with story(database_url) as bot:
        fields = await bot.say(EDITOR, "/edit Qaisha Aqan")
        await _press(bot, fields, "City")
        cancelled = await bot.say(EDITOR, "/cancel")
        assert cancelled.text == "Editing cancelled."
        searched = await bot.say(EDITOR, "Qaster")
        assert "Qaster Musakhanuly" in (searched.text or "")
        assert (await bot.say(EDITOR, "/cancel")).text == "Nothing to cancel."
        assert (await bot.say(STRANGER, "/cancel")).text == "Nothing to cancel."
        pressed = await bot.api.user_presses(EDITOR, fields, _data(fields, "Court"))
        assert await answer_to(bot, pressed) == t("en", "guided.gone")
    person = await _person(database_url, "Qaisha Aqan")
    assert [e.kind for e in await _events(database_url, person.id or 0)].count(
        EventKind.RECORD_CHANGED
    ) == 0


async def test_an_edit_survives_a_restart_in_the_middle(database_url: str) -> None:
    async with story(database_url) as bot:
        fields = await bot.say(EDITOR, "/edit Murager Alimuly")
        await _press(bot, fields, "Citizenship")
    async with story(database_url) as bot:  # a new process, the same database
        asked = await bot.say(EDITOR, "Kazakhstan")
        preview = await _skip_source_and_level(bot, asked)
        assert "citizenship: Kazakhstan" in (preview.text or "")
    person = await _person(database_url, "Murager Alimuly")
    assert person.citizenship == "Kazakhstan"


async def test_nobody_but_the_editor_may_press_or_answer_and_a_removed_editor_is_refused(
    database_url: str,
) -> None:
    await make_editor(database_url, BYSTANDER.id)
    async with story(database_url) as bot:
        fields = await bot.say(BYSTANDER, "/edit Qaisha Aqan")
        for intruder in (STRANGER, FOLLOWER):
            pressed = await bot.api.user_presses(
                intruder, fields, _data(fields, "Court"), check_button=False
            )
            assert await answer_to(bot, pressed) == REFUSED
        # Another editor's press finds no edit of theirs.
        pressed = await bot.api.user_presses(EDITOR, fields, _data(fields, "Court"))
        assert await answer_to(bot, pressed) == t("en", "guided.gone")
        asked = await _press(bot, fields, "Court", BYSTANDER)
        engine = create_engine(database_url)
        async with session_scope(engine) as session:
            admin = await session.get(Admin, BYSTANDER.id)
            assert admin is not None and admin.role == Role.EDITOR
            await session.delete(admin)
        await engine.dispose()
        refused = await bot.say(BYSTANDER, "Almaty city court")
        assert refused.text == REFUSED
        assert "Type the new value" in (asked.text or "")
    person = await _person(database_url, "Qaisha Aqan")
    kinds = [event.kind for event in await _events(database_url, person.id or 0)]
    assert EventKind.RECORD_CHANGED not in kinds


async def test_a_viewer_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=FOLLOWER.id, role=Role.VIEWER, added_by=EDITOR.id))
    await engine.dispose()
    async with story(database_url) as bot:
        viewer_refused = t("en", "roles.viewer_changes_nothing")
        assert (await bot.say(FOLLOWER, "/edit Qaisha Aqan")).text == viewer_refused
        fields = await bot.say(EDITOR, "/edit Qaisha Aqan")
        pressed = await bot.api.user_presses(
            FOLLOWER, fields, _data(fields, "Stage"), check_button=False
        )
        assert await answer_to(bot, pressed) == viewer_refused
    await eventually(lambda: _no_change(database_url))


async def _no_change(database_url: str) -> bool:
    person = await _person(database_url, "Qaisha Aqan")
    return EventKind.RECORD_CHANGED not in [
        e.kind for e in await _events(database_url, person.id or 0)
    ]


def test_typed_values_are_tidied_and_checked() -> None:
    assert parse_typed("court", "  Almaty   regional court ") == "Almaty regional court"
    assert parse_typed("lawyer", "-") is None  # cleared
    assert parse_typed("hearing", "3.12.2026  10:00 room 4") == "3.12.2026 10:00 room 4"
    assert parse_typed("relation", "#12: sister") == {"who": "#12", "note": "sister"}
    assert parse_typed("relation", "Murager Alimuly") == {"who": "Murager Alimuly", "note": None}
    assert parse_birth_year("1987") == 1987
    assert parse_source(" https://example.org/a ") == "https://example.org/a"
    for field, text, reason in [
        ("hearing", "31.02.2030 10:00", "error.bad_datetime"),
        ("hearing", "tomorrow", "error.usage"),
        ("birth_year", "87", "guided.bad_year"),
        ("birth_year", "2090", "guided.bad_year"),
        ("city", "x" * 101, "error.too_long"),
        ("spelling", "#12", "error.name_hash"),
        ("appeal", "-", "error.usage"),
        ("note", " ", "error.text_missing"),
    ]:
        with pytest.raises(BadArguments) as refused:
            parse_typed(field, text)
        assert refused.value.reason == reason, (field, text)
    for text in ("example.org/a", "see https://example.org/a", "skip"):
        with pytest.raises(BadArguments):
            parse_source(text)


async def test_a_hearing_date_in_the_past_is_asked_about_first(database_url: str) -> None:
    async with story(database_url) as bot:
        fields = await bot.say(EDITOR, "/edit Murager Alimuly")
        await _press(bot, fields, "Hearing date")
        asked = await bot.say(EDITOR, "03.12.2020 10:00")
        question = await _skip_source_and_level(bot, asked)
        assert "is in the past" in (question.text or "")
        preview = await _press(bot, question, t("en", "change.go"))
        assert (preview.text or "").startswith("Saved for <b>Murager Alimuly</b>")


async def test_a_verdict_is_typed_and_made_as_setverdict_makes_it(database_url: str) -> None:
    async with story(database_url) as bot:
        fields = await bot.say(EDITOR, "/edit Qaisha Aqan")
        hint = await _press(bot, fields, "Verdict")
        assert "after a ;, the sentence" in (hint.text or "")
        asked = await bot.say(EDITOR, "guilty; 6 months of restricted freedom")
        preview = await _skip_source_and_level(bot, asked)
        text = preview.text or ""
        assert text.startswith("Saved for <b>Qaisha Aqan</b>") and "guilty" in text, text
        assert "6 months of restricted freedom" in text
    person = await _person(database_url, "Qaisha Aqan")
    assert (await _events(database_url, person.id or 0))[-1].kind == EventKind.VERDICT


async def test_in_a_group_edit_is_refused_and_addperson_names_no_restricted_person(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
        in_group = await bot.say(EDITOR, "/edit Qaisha Aqan", chat=GROUP)
        assert in_group.text == t("en", "guided.private_only")
        asked = await bot.say(EDITOR, "/addperson Murager Alimuly", chat=GROUP)
        assert "Murager" in (asked.text or "") and "#2" not in (asked.text or ""), asked.text
        assert asked.text == "Added <b>Murager Alimuly</b> #5."


def test_a_guided_value_is_kept_whole_even_when_its_last_word_reads_as_provenance() -> None:
    command, text = change_for(
        {"field": "note", "person_id": 3, "value": "Visited today by his lawyer"}
    )
    args = command.parse(text)
    assert args.text == "Visited today by his lawyer." and args.provenance == Provenance()
    command, text = change_for(
        {
            "field": "note",
            "person_id": 3,
            "value": "Seen by the media",
            "source": "https://example.org/a",
            "verification": "media",
        }
    )
    args = command.parse(text)
    assert args.text == "Seen by the media."
    assert args.provenance == Provenance("https://example.org/a", Verification.MEDIA)
