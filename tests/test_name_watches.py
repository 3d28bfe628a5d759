# ruff: noqa: RUF001  (Russian and Kazakh answers are what is tested here)
"""Watching for a name nobody has entered yet: offered when /subscribe finds nobody, told
through the outbox when an editor adds a matching person, ended after 90 days with a note
(SQLite and PostgreSQL)."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.localapi import SentMessage, User
from bot.name_watches import end_name_watches
from bot.outbox import SENDER
from handlers.context import SERVICES
from handlers.render import format_day, render_watch_offer
from storage.engine import session_scope
from storage.following import ensure_chat
from storage.models import Chat, Delivery, NameWatch, Person, Visibility, utcnow
from storage.name_watches import (
    MAX_WATCHES,
    WATCH_LENGTH,
    WatchStart,
    active_watches,
    end_watch,
    start_watch,
    watched_names,
    watching_chats,
)
from storage.people import add_person
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    KAZAKH,
    RUSSIAN,
    STRANGER,
    Story,
    story,
)

# Not in the demo records: /subscribe finds nobody by these.
ZHANAR = "Janar Toqtarqyzy"
ADDED_ZHANAR = "/addperson Жанар Тоқтарқызы; Zhanar Tokhtarkyzy"
REFUSAL = (
    "In a group, only its administrators can change whom it follows, its reminders, "
    "quiet hours and digest."
)
STALE = "This button no longer works. Send /help for the commands."


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url, retry_base_seconds=0.05) as running_story:
        running_story.api.set_administrators(GROUP.id, [FOLLOWER.id])
        yield running_story


def _engine(bot: Story) -> AsyncEngine:
    engine: AsyncEngine = bot.application.bot_data[SERVICES].engine
    return engine


async def _watches(bot: Story) -> list[NameWatch]:
    async with session_scope(_engine(bot)) as session:
        return list((await session.exec(select(NameWatch).order_by(col(NameWatch.id)))).all())


async def _watch(bot: Story, user: User, name: str) -> SentMessage:
    """`user` subscribes to a name nobody has and presses Watch; returns the confirmation."""
    offer = await bot.say(user, f"/subscribe {name}")
    (watch,) = offer.callback_data
    return await bot.press(user, offer, watch)


async def _answer(bot: Story, user: User, message: SentMessage, data: str) -> str | None:
    """What `user` is shown on pressing a button that answers without a message."""
    before = len(bot.api.callback_answers)
    await bot.api.user_presses(user, message, data, check_button=False)
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) > before)
    return bot.api.callback_answers[before].text


async def _messages_after(bot: Story, counts: dict[int, int], chat_id: int) -> SentMessage:
    """The first message to `chat_id` after the `counts[chat_id]` it had."""
    before = counts[chat_id]
    return (await bot.api.wait_for_messages(chat_id, before + 1, timeout=10))[before]


def _counts(bot: Story, *users: User) -> dict[int, int]:
    return {user.id: len(bot.api.messages_to(user.id)) for user in users}


# --- offering and starting a watch ---------------------------------------------------------


async def test_nobody_found_offers_a_watch_and_pressing_twice_makes_one(bot: Story) -> None:
    offer = await bot.say(FOLLOWER, f"/subscribe {ZHANAR}")
    assert offer.text == render_watch_offer(ZHANAR, "en")
    assert (offer.text or "").startswith(f"Nobody found for <b>{ZHANAR}</b>.")
    assert await _watches(bot) == []  # nothing stored for an offer
    (watch,) = offer.callback_data
    started = await bot.press(FOLLOWER, offer, watch)
    until = format_day(utcnow() + WATCH_LENGTH, "en")
    assert (started.text or "").startswith(f"Watching for <b>{ZHANAR}</b> until {until}.")
    again = await bot.press(FOLLOWER, offer, watch)
    assert again.text == f"This chat already watches for <b>{ZHANAR}</b> (until {until})."
    (stored,) = await _watches(bot)
    assert (stored.chat_id, stored.name, stored.ended_at) == (FOLLOWER.id, ZHANAR, None)

    await bot.say(FOLLOWER, "/subscriptions")  # what it follows, then what it watches for
    listing = (await bot.api.wait_for_messages(FOLLOWER.id, 5))[4]
    assert f"• {ZHANAR}, until {until}" in (listing.text or "")
    (stop,) = listing.callback_data
    stopped = await bot.press(FOLLOWER, listing, stop)
    assert stopped.text == f"No longer watching for <b>{ZHANAR}</b>."
    assert await _answer(bot, FOLLOWER, listing, stop) == "This watch has already ended."
    only = await bot.say(FOLLOWER, "/subscriptions")  # a marker: no watch list follows it
    assert only.text == "This chat follows nobody yet. Try /subscribe &lt;name&gt;."
    marker = await bot.say(FOLLOWER, "/help")
    assert bot.api.messages_to(FOLLOWER.id)[-2:] == [only, marker]


async def test_a_found_name_a_list_or_an_id_is_not_offered_a_watch(bot: Story) -> None:
    followed = await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    assert (followed.text or "").startswith("You now follow")
    by_id = await bot.say(FOLLOWER, "/subscribe #999999")
    assert by_id.callback_data == [] and by_id.text == "No person has the number #999999."
    unfollow = await bot.say(FOLLOWER, f"/unsubscribe {ZHANAR}")
    assert unfollow.callback_data == [] and "Nobody found" in (unfollow.text or "")


async def test_forged_or_unreadable_watch_buttons_are_refused_politely(bot: Story) -> None:
    offer = await bot.say(FOLLOWER, f"/subscribe {ZHANAR}")
    (watch,) = offer.callback_data
    action, fingerprint, _ = watch.split(":")
    assert await _answer(bot, FOLLOWER, offer, f"{action}:{fingerprint}:forged") == STALE
    other = await bot.say(FOLLOWER, "/help")  # the button under another message: not its name
    assert await _answer(bot, FOLLOWER, other, watch) == STALE
    assert await _answer(bot, FOLLOWER, offer, "unwatch:1:forged") == STALE
    assert await _watches(bot) == []


async def test_in_a_group_only_admins_start_or_stop_a_watch(bot: Story) -> None:
    offer = await bot.say(FOLLOWER, f"/subscribe {ZHANAR}", chat=GROUP)
    (watch,) = offer.callback_data
    assert await _answer(bot, STRANGER, offer, watch) == REFUSAL
    assert await _watches(bot) == []
    started = await bot.press(FOLLOWER, offer, watch)
    assert (started.text or "").startswith(f"Watching for <b>{ZHANAR}</b>")
    await bot.say(STRANGER, "/subscriptions", chat=GROUP)  # reading is for everyone
    listing = (await bot.api.wait_for_messages(GROUP.id, 4))[3]
    (stop,) = listing.callback_data
    assert await _answer(bot, STRANGER, listing, stop) == REFUSAL
    assert [w.ended_at for w in await _watches(bot)] == [None]
    stopped = await bot.press(FOLLOWER, listing, stop)
    assert stopped.text == f"No longer watching for <b>{ZHANAR}</b>."


# --- told when a matching person is added --------------------------------------------------

STARTED = {
    "en": "Watching for <b>{name}</b> until ",
    "ru": "Слежу за именем <b>{name}</b> до ",
    "kk": "<b>{name}</b> есімін бақылау басталды, аяқталатын күні: ",
}
MATCHED = {
    "en": "👁 Someone matching the name you watch for, <b>{name}</b>, has been added:",
    "ru": "👁 Добавлен человек, имя которого совпадает с отслеживаемым вами именем <b>{name}</b>:",
    "kk": "👁 Сіз бақылап отырған <b>{name}</b> есіміне сәйкес адам қосылды:",
}


async def test_a_person_added_by_another_spelling_is_pushed_with_a_follow_button(
    bot: Story,
) -> None:
    watchers = (
        (FOLLOWER, ZHANAR, "en"),
        (RUSSIAN, "Жанар Токтаркызы", "ru"),
        (KAZAKH, "Жанар", "kk"),
    )
    for user, name, lang in watchers:
        started = await _watch(bot, user, name)
        assert (started.text or "").startswith(STARTED[lang].format(name=name)), lang
    await _watch(bot, BYSTANDER, "Janar Serikova")  # shares only the first name
    counts = _counts(bot, FOLLOWER, RUSSIAN, KAZAKH, BYSTANDER)
    saved = await bot.say(EDITOR, ADDED_ZHANAR)
    # The editor reads English: the Latin spelling, though the Cyrillic one is canonical.
    assert "<b>Zhanar Tokhtarkyzy</b>" in (saved.text or "")
    async with session_scope(_engine(bot)) as session:
        person = (await session.exec(select(Person).order_by(col(Person.id).desc()))).first()
    assert person is not None
    for user, name, lang in watchers:
        push = await _messages_after(bot, counts, user.id)
        header, title, *_ = (push.text or "").split("\n")
        assert header == MATCHED[lang].format(name=name)
        # The name in the reader's script: Latin for English, Cyrillic for the others.
        shown = "Zhanar Tokhtarkyzy" if lang == "en" else "Жанар Тоқтарқызы"
        assert title == f"🔔 <b>{shown}</b> #{person.id}"
        (follow,) = push.callback_data  # signed: action, person id, signature
        assert follow.startswith(f"follow:{person.id}:")
    (push,) = [m for m in bot.api.messages_to(FOLLOWER.id) if m.text and "👁" in m.text]
    followed = await bot.press(FOLLOWER, push, push.callback_data[0])
    assert followed.text == (  # as the push named her
        f"You now follow <b>Zhanar Tokhtarkyzy</b> #{person.id}. "
        "You will be told when anything changes."
    )
    # The bystander's full name does not match; a later person who matches is its next message.
    await bot.say(EDITOR, "/addperson Janar Serikova")
    later = await _messages_after(bot, counts, BYSTANDER.id)
    assert "<b>Janar Serikova</b>" in (later.text or "") and "Жанар" not in (later.text or "")
    async with session_scope(_engine(bot)) as session:
        owed = select(Delivery.chat_id).where(Delivery.chat_id == BYSTANDER.id)
        assert len((await session.exec(owed)).all()) == 1


async def test_a_restricted_person_never_reaches_a_watch(bot: Story) -> None:
    await _watch(bot, FOLLOWER, ZHANAR)
    await _watch(bot, EDITOR, ZHANAR)  # not even an editor's
    async with session_scope(_engine(bot)) as session:
        await add_person(
            session=session,
            name="Zhanar Tokhtarkyzy",
            actor_id=EDITOR.id,
            visibility=Visibility.RESTRICTED,
        )
    counts = _counts(bot, FOLLOWER, EDITOR)
    # Public: the marker. The restricted namesake is known, so /addperson asks first (the
    # question names them: editors see restricted people; nothing else may).
    question = await bot.say(EDITOR, "/addperson Жанар Тоқтарқызы")
    await bot.press(EDITOR, question, question.callback_data[0])
    for user in (FOLLOWER, EDITOR):
        await bot.api.wait_until(lambda u=user: _told(bot, u, "Жанар Тоқтарқызы"), 10)
        told = bot.api.messages_to(user.id)[counts[user.id] :]
        told = [message for message in told if message.message_id != question.message_id]
        assert not any("Zhanar" in (message.text or "") for message in told), user
    async with session_scope(_engine(bot)) as session:
        owed = await session.exec(select(Delivery.chat_id).order_by(col(Delivery.chat_id)))
        assert list(owed.all()) == [EDITOR.id, FOLLOWER.id]  # the marker's, and no other


async def test_a_chat_following_everyone_is_told_once_as_a_watcher(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe all")
    await _watch(bot, FOLLOWER, ZHANAR)
    counts = _counts(bot, FOLLOWER)
    await bot.say(EDITOR, ADDED_ZHANAR)
    push = await _messages_after(bot, counts, FOLLOWER.id)
    assert (push.text or "").startswith(MATCHED["en"].format(name=ZHANAR))
    counts = _counts(bot, FOLLOWER)
    marker = await bot.say(EDITOR, "/setasylum Жанар Тоқтарқызы refugee")
    assert "Saved" in (marker.text or "")
    after = await _messages_after(bot, counts, FOLLOWER.id)  # the next change: no 2nd "added"
    assert "refugee" in (after.text or "") and "👁" not in (after.text or "")


async def test_matching_reads_every_spelling_but_a_full_name_needs_its_every_word(
    engine: AsyncEngine,
) -> None:
    now = utcnow()
    names = ["Qaisha", "Kaysha Akan", "Қайша", "Qaisha Nurova", "Aqan Qaisha Nurqyzy", "Serik"]
    async with session_scope(engine) as session:
        for chat_id, name in enumerate(names, start=1):
            await ensure_chat(session=session, chat_id=chat_id, kind="private", language="en")
            await start_watch(session=session, chat_id=chat_id, name=name, now=now)
        added = await add_person(
            session=session, name="Қайша Ақан", other_spellings=["Kaisha Aqan"], actor_id=1
        )
        hidden = await add_person(
            session=session, name="Kaisha Aqan", actor_id=1, visibility=Visibility.RESTRICTED
        )
    async with session_scope(engine) as session:
        assert added.id is not None and hidden.id is not None
        found = await watching_chats(session=session, person_id=added.id, now=now)
        assert [names[chat_id - 1] for chat_id in found] == [
            "Qaisha",
            "Kaysha Akan",
            "Қайша",
            "Aqan Qaisha Nurqyzy",  # two words of three: as /find would list them
        ]
        assert await watching_chats(session=session, person_id=hidden.id, now=now) == []
        later = now + WATCH_LENGTH  # a watch whose time is up matches nothing
        assert await watching_chats(session=session, person_id=added.id, now=later) == []
        # What a push about them says to each chat: the same watches, the same rule.
        spellings = {added.id: ["Қайша Ақан", "Kaisha Aqan"]}
        pairs = [(chat_id, added.id) for chat_id in range(1, len(names) + 1)]
        said = await watched_names(session=session, found=pairs, spellings=spellings, now=now)
        assert sorted(said) == [(chat_id, added.id) for chat_id in found]
        assert said[(1, added.id)] == "Qaisha"
        gone = await watched_names(session=session, found=pairs, spellings=spellings, now=later)
        assert gone == {}  # up, even before the job has ended them


# --- ending after 90 days ------------------------------------------------------------------

ENDED = {
    "en": "The watch for <b>{name}</b> has ended: 90 days have passed and nobody by this name "
    "was added. To watch again: /subscribe {name}",
    "ru": "Слежение за именем <b>{name}</b> завершено: прошло 90 дней, человек с таким именем "
    "не добавлен. Чтобы снова следить за ним: /subscribe {name}",
    "kk": "<b>{name}</b> есімін бақылау аяқталды: 90 күн өтті, мұндай есімді адам қосылған жоқ. "
    "Қайта бақылау үшін: /subscribe {name}",
}


async def test_a_watch_ends_after_90_days_with_one_note_in_the_chats_language(
    bot: Story,
) -> None:
    watchers = ((FOLLOWER, ZHANAR, "en"), (RUSSIAN, "Жанар", "ru"), (KAZAKH, "Жанар", "kk"))
    for user, name, _ in watchers:
        await _watch(bot, user, name)
    sender = bot.application.bot_data[SENDER]
    soon = utcnow() + WATCH_LENGTH - timedelta(minutes=1)
    assert await end_name_watches(sender=sender, now=soon) == 0
    later = utcnow() + WATCH_LENGTH + timedelta(minutes=1)
    assert await end_name_watches(sender=sender, now=later) == 3
    for user, name, lang in watchers:
        note = bot.api.messages_to(user.id)[-1]
        assert note.text == ENDED[lang].format(name=name) and note.callback_data == []
    assert await end_name_watches(sender=sender, now=later + timedelta(days=1)) == 0
    assert [len(bot.api.messages_to(user.id)) for user, _, _ in watchers] == [3, 3, 3]
    assert all(watch.ended_at == later for watch in await _watches(bot))
    listing = await bot.say(FOLLOWER, "/subscriptions")
    marker = await bot.say(FOLLOWER, "/help")  # no watch list between the two
    assert bot.api.messages_to(FOLLOWER.id)[-2:] == [listing, marker]
    # Watching again starts a new 90 days.
    again = await _watch(bot, FOLLOWER, ZHANAR)
    assert (again.text or "").startswith(f"Watching for <b>{ZHANAR}</b> until")
    assert [w.ended_at is None for w in await _watches(bot)] == [True, False, False]


async def test_a_blocked_chat_at_expiry_is_deactivated_and_its_watch_ended(bot: Story) -> None:
    await _watch(bot, STRANGER, ZHANAR)
    await _watch(bot, FOLLOWER, ZHANAR)
    bot.api.block(STRANGER.id, tell_bot=False)  # learnt from the refused note
    bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=429, retry_after=1)
    later = utcnow() + WATCH_LENGTH + timedelta(minutes=1)
    assert await end_name_watches(sender=bot.application.bot_data[SENDER], now=later) == 2
    async with session_scope(_engine(bot)) as session:
        chat = await session.get(Chat, STRANGER.id)
    assert chat is not None and not chat.active and chat.deactivated_at is not None
    assert len([f for f in bot.api.failed if f.chat_id == STRANGER.id]) == 1
    assert len(bot.api.messages_to(STRANGER.id)) == 2  # the offer and the confirmation
    notes = [m for m in bot.api.messages_to(FOLLOWER.id) if "has ended" in (m.text or "")]
    assert len(notes) == 1  # the 429 waited, then the same note went once
    assert all(watch.ended_at == later for watch in await _watches(bot))


async def test_a_note_that_cannot_be_sent_yet_leaves_the_watch_on_for_the_next_run(
    bot: Story,
) -> None:
    await _watch(bot, FOLLOWER, ZHANAR)
    bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=502)
    sender = bot.application.bot_data[SENDER]
    later = utcnow() + WATCH_LENGTH + timedelta(minutes=1)
    assert await end_name_watches(sender=sender, now=later) == 0
    assert [watch.ended_at for watch in await _watches(bot)] == [None]
    assert await end_name_watches(sender=sender, now=later + timedelta(minutes=15)) == 1
    note = bot.api.messages_to(FOLLOWER.id)[-1]
    assert note.text == ENDED["en"].format(name=ZHANAR)
    assert [watch.ended_at is not None for watch in await _watches(bot)] == [True]


def _told(bot: Story, user: User, name: str) -> bool:
    return any(name in (message.text or "") for message in bot.api.messages_to(user.id))


async def test_a_chat_holds_at_most_max_watches_and_an_ended_one_starts_again(
    engine: AsyncEngine,
) -> None:
    now = utcnow()
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=1, kind="private", language="en")
        for number in range(MAX_WATCHES):
            name = _nth_name(number)
            outcome, _ = await start_watch(session=session, chat_id=1, name=name, now=now)
            assert outcome is WatchStart.STARTED
        assert await start_watch(session=session, chat_id=1, name="Serik", now=now) == (
            WatchStart.TOO_MANY,
            None,
        )
        outcome, first = await start_watch(session=session, chat_id=1, name="ARUA", now=now)
        assert outcome is WatchStart.ALREADY and first is not None and first.name == "Arua"
        assert first.id is not None
        assert await end_watch(session=session, chat_id=2, watch_id=first.id, now=now) is None
        assert await end_watch(session=session, chat_id=1, watch_id=first.id, now=now)
        later = now + timedelta(days=1)
        outcome, again = await start_watch(session=session, chat_id=1, name="Serik", now=later)
        assert outcome is WatchStart.STARTED and again is not None
        outcome, back = await start_watch(session=session, chat_id=1, name="Arua", now=later)
        assert outcome is WatchStart.TOO_MANY and back is None  # the room went to Serik
        assert len(await active_watches(session=session, chat_id=1)) == MAX_WATCHES


def _nth_name(number: int) -> str:
    """Arua, Arub, …: names that fold to different keys (not "q" and "k", "y" and "i")."""
    return "Aru" + "abcdefghjlmnoprstuvxz"[number]
