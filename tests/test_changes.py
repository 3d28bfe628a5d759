"""An editor's change, end to end: the question first when a date looks wrong, the choice
among several people finishing the command, the preview with Undo and Don't notify, and
--silent corrections."""

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.app import build_application, polling
from bot.localapi import LocalBotApi, SentMessage, User, serve_local_api
from storage.engine import session_scope
from storage.models import Delivery, EditorDraft, Event, EventKind, Person
from tests.e2e import (
    EDITOR,
    FOLLOWER,
    STRANGER,
    TOKEN,
    Story,
    answer_to,
    seed,
    settings_for,
    story,
)
from tests.test_authorization import make_editor

GRACE = 300  # seconds: long enough that nothing goes out while a test looks
SECOND_EDITOR = User(7010, "Second editor", language_code="en")


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url, notify_grace_seconds=GRACE) as running:
        yield running


def _button(message: SentMessage, action: str, index: int = 0) -> str:
    return [data for data in message.callback_data if data.startswith(action + ":")][index]


async def _events(bot: Story, kind: str) -> list[Event]:
    async with session_scope(bot.application.bot_data["services"].engine) as session:
        return list((await session.exec(select(Event).where(Event.kind == kind))).all())


async def _deliveries(bot: Story) -> int:
    async with session_scope(bot.application.bot_data["services"].engine) as session:
        return len((await session.exec(select(Delivery))).all())


async def _asylum(bot: Story, person_id: int) -> str | None:
    async with session_scope(bot.application.bot_data["services"].engine) as session:
        person = await session.get(Person, person_id, populate_existing=True)
        assert person is not None
        return person.asylum


async def _edited(bot: Story, user: User, message: SentMessage, data: str) -> SentMessage:
    before = len(bot.api.edits)
    await bot.api.user_presses(user, message, data)
    await bot.api.wait_until(lambda: len(bot.api.edits) > before)
    return bot.api.edits[-1]


async def test_the_preview_says_old_to_new_the_source_and_who_is_told_when(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    preview = await bot.say(
        EDITOR, "/setasylum Qaisha Aqan refugee https://example.org/ruling document"
    )
    text = preview.text or ""
    assert text.startswith(
        "Saved for <b>Qaisha Aqan</b> #1: asylum status is now <b>refugee</b> (was asylum seeker)"
    ), text
    assert "https://example.org/ruling" in text
    assert "📣 1 chat will be told at " in text
    assert [button.split(":")[0] for button in preview.callback_data] == ["cundo", "chush"]
    (event,) = await _events(bot, EventKind.ASYLUM_CHANGED)
    assert (event.source, event.verification) == ("https://example.org/ruling", "document")


async def test_a_change_without_a_source_says_so_in_the_preview(bot: Story) -> None:
    preview = await bot.say(EDITOR, "/setdetention Qaisha Aqan house arrest")
    assert "detention status is now <b>house arrest</b>" in (preview.text or "")
    assert "No source given" in (preview.text or "")
    assert "Nobody follows this person yet" in (preview.text or "")


async def test_undo_button_takes_the_change_back_and_nothing_is_sent(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    preview = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    undone = await _edited(bot, EDITOR, preview, _button(preview, "cundo"))
    assert (undone.text or "").startswith("Taken back for <b>Qaisha Aqan</b> #1")
    assert undone.callback_data == []
    assert await _asylum(bot, 1) == "asylum_seeker"
    (event,) = await _events(bot, EventKind.ASYLUM_CHANGED)
    assert event.cancelled


async def test_dont_notify_keeps_the_change_as_a_correction_nobody_is_told_of(
    bot: Story,
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    preview = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    hushed = await _edited(bot, EDITOR, preview, _button(preview, "chush"))
    assert "A correction: the record is changed, and nobody is told." in (hushed.text or "")
    assert [data.split(":")[0] for data in hushed.callback_data] == ["cundo"]
    assert await _asylum(bot, 1) == "refugee"
    (event,) = await _events(bot, EventKind.ASYLUM_CHANGED)
    assert event.correction and event.expanded_at is not None
    assert await _deliveries(bot) == 0


async def test_silent_flag_corrects_without_telling_anyone(database_url: str) -> None:
    async with story(database_url) as bot:  # no grace: a push would go at once
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        preview = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee --silent")
        assert "A correction" in (preview.text or "")
        await bot.say(EDITOR, "/setdetention Qaisha Aqan released")  # a change that is told
        await bot.api.wait_until(lambda: len(bot.api.messages_to(FOLLOWER.id)) >= 2)
        pushes = [m.text or "" for m in bot.api.messages_to(FOLLOWER.id)[1:]]
        assert all("refugee" not in push for push in pushes), pushes
        (event,) = await _events(bot, EventKind.ASYLUM_CHANGED)
        assert event.correction


async def test_a_hearing_in_the_past_is_asked_about_and_no_leaves_it(bot: Story) -> None:
    question = await bot.say(EDITOR, "/sethearing Qaisha Aqan 01.01.2020 10:00")
    assert "01.01.2020 10:00 is in the past" in (question.text or "")
    left = await bot.press(EDITOR, question, _button(question, "cdrop"))
    assert left.text == "Left as it was: nothing was changed."
    assert await _events(bot, EventKind.HEARING_SET) == []


async def test_a_year_far_ahead_is_asked_about_and_yes_makes_the_change(bot: Story) -> None:
    question = await bot.say(EDITOR, "/sethearing Qaisha Aqan 03.12.2062 10:00")
    assert "is years from now" in (question.text or "")
    preview = await bot.press(EDITOR, question, _button(question, "cgo"))
    assert "hearing set for <b>Sun 3 Dec 2062, 10:00" in (preview.text or ""), preview.text
    again = await bot.api.user_presses(
        EDITOR, question, _button(question, "cgo"), check_button=False
    )
    assert await answer_to(bot, again) == (
        "This question is answered already, or it lapsed. Send the command again."
    )
    assert len(await _events(bot, EventKind.HEARING_SET)) == 1


async def test_choosing_among_several_people_finishes_the_command(bot: Story) -> None:
    await bot.say(EDITOR, "/addperson Qaisha Aqanova")
    choice = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    assert [data.split(":")[0] for data in choice.callback_data] == ["cpick", "cpick"]
    assert "Choose the person" in (choice.text or "")
    picked = _button(choice, "cpick", 0)
    preview = await bot.press(EDITOR, choice, picked)
    assert "asylum status is now <b>refugee</b>" in (preview.text or "")
    assert len(await _events(bot, EventKind.ASYLUM_CHANGED)) == 1


async def test_a_question_survives_a_restart(database_url: str) -> None:
    await seed(database_url)
    api = LocalBotApi(TOKEN)
    async with serve_local_api(api) as url:
        settings = settings_for(url, database_url, notify_grace_seconds=GRACE)
        async with polling(build_application(settings)):
            before = len(api.messages_to(EDITOR.id))
            await api.user_sends(EDITOR, None, "/sethearing Qaisha Aqan 01.01.2020 10:00")
            question = (await api.wait_for_messages(EDITOR.id, before + 1))[before]
        restarted = build_application(settings)
        async with polling(restarted):
            await api.user_presses(EDITOR, question, _button(question, "cgo"))
            preview = (await api.wait_for_messages(EDITOR.id, before + 2))[before + 1]
            assert "hearing set for <b>Wed 1 Jan 2020, 10:00" in (preview.text or "")
            async with session_scope(restarted.bot_data["services"].engine) as session:
                assert (await session.exec(select(EditorDraft))).all() == []


async def test_only_the_editor_who_made_a_change_undoes_it_by_its_button(
    bot: Story, database_url: str
) -> None:
    await make_editor(database_url, SECOND_EDITOR.id)
    preview = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    for user, answer in (
        (SECOND_EDITOR, "Only the editor who made this change can use this button."),
        (STRANGER, "This command is for editors only."),
    ):
        for action in ("cundo", "chush"):
            pressed = await bot.api.user_presses(
                user, preview, _button(preview, action), check_button=False
            )
            assert await answer_to(bot, pressed) == answer
    (event,) = await _events(bot, EventKind.ASYLUM_CHANGED)
    assert not event.correction and not event.cancelled
    assert await _asylum(bot, 1) == "refugee"
    assert bot.api.edits == []


async def test_choosing_among_several_people_finishes_setvisibility_too(bot: Story) -> None:
    await bot.say(EDITOR, "/addperson Qaisha Aqanova")
    choice = await bot.say(EDITOR, "/setvisibility Qaisha Aqan restricted")
    assert [data.split(":")[0] for data in choice.callback_data] == ["cpick", "cpick"]
    done = await bot.press(EDITOR, choice, _button(choice, "cpick", 0))
    assert (done.text or "").startswith("<b>Qaisha Aqan</b> #1 is restricted now"), done.text
    async with session_scope(bot.application.bot_data["services"].engine) as session:
        person = await session.get(Person, 1, populate_existing=True)
        assert person is not None and person.visibility == "restricted"
