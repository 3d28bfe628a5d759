"""`casewatch demo`: the real bot against the built-in local Bot API, and a terminal chat.

No token, no network. A fresh SQLite database in a temporary folder gets the demo records;
the application built by `build_application` long-polls the local Bot API like Telegram;
the terminal plays the people: subscribers in three languages and an editor.
"""

import asyncio
import contextlib
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pydantic import SecretStr

from bot.app import build_application, polling
from bot.localapi import DEMO_TOKEN, LocalBotApi, SentMessage, User, serve_local_api
from bot.seed import seed_demo_records
from bot.settings import Settings
from handlers.render import html_to_plain
from storage.engine import create_engine
from storage.migrate import upgrade_database

DEMO_GRACE_SECONDS = 3.0
REPLY_WAIT_SECONDS = 15.0
# After the first message of an answer, how long the next one may take to be shown with it.
MORE_REPLY_SECONDS = 0.5
# Of a file the bot sends (an export, a calendar), the lines shown.
DOCUMENT_LINES = 4
# The sample file of 20 fictional people the editor's day imports.
SAMPLE_IMPORT = Path(__file__).with_name("demo_import.csv")


def editor_day(hearing_day: date) -> tuple[str, ...]:
    """An editor's whole day, as `:day` plays it: a person with a case (court and city by
    guided editing, with a source), a hearing with a source, its preview, Undo, the hearing
    set again and pushed to a city's follower, a typo corrected silently, the history that
    shows it, an import of 20 people, an export, the audit log."""
    day = f"{hearing_day:%d.%m.%Y}"
    notice = "https://example.org/zharkent-court/notice-2231"
    return (
        ":as aigerim",
        "/subscribe city Zharkent",
        ":as editor",
        "/addperson Janar Serikova; Жанар Серікова",
        "/edit Janar Serikova",
        ":press 5",  # Court
        "Zharkent district court",
        "https://example.org/zharkent-court/list",
        ":press 1",  # confirmed by a document
        "/edit Janar Serikova",
        ":press 6",  # City
        "Zharkent",
        ":press 1",  # no source link
        ":press 5",  # nor a level
        f"/sethearing Janar Serikova {day} 10:00 {notice} document",
        ":press 1",  # Undo
        f"/sethearing Janar Serikova {day} 11:00 {notice} document",
        f":wait {DEMO_GRACE_SECONDS + 1:.0f}",
        f"/sethearing Janar Serikova {day} 11:30 --silent",
        "/history Janar Serikova",
        f":send {SAMPLE_IMPORT} /import",
        "/export csv",
        "/audit Janar Serikova",
    )


@dataclass(frozen=True)
class Persona:
    key: str
    user: User
    role: str


PERSONAS = {
    persona.key: persona
    for persona in (
        Persona("aigerim", User(1001, "Aigerim", language_code="en"), "subscriber, English"),
        Persona("dana", User(1002, "Дана", language_code="ru"), "subscriber, Russian"),
        Persona("asel", User(1003, "Әсел", language_code="kk"), "subscriber, Kazakh"),
        Persona("editor", User(1000, "Editor", language_code="en"), "keeps the records"),
    )
}
NAMES = {persona.user.id: persona.key for persona in PERSONAS.values()}

BANNER = f"""casewatch demo — the real bot, a local Bot API, the people of the demo story.
You are talking as: {", ".join(f"{p.key} ({p.role})" for p in PERSONAS.values())}.
Type a message or command (/help). Terminal commands:
  :as NAME      talk as another person      :press N   press button N under the last reply
  :wait S       wait S seconds for pushes   :inline T  type "@bot T" in some chat (inline mode)
  :send F [C]   send file F with caption C  :quit      leave (Ctrl+D too)
  :day          an editor's whole day, played: a person with a case, a hearing with a source,
                its preview, Undo, a silent correction, an import of 20 people, an export
Changes reach followers after {DEMO_GRACE_SECONDS:.0f} s (NOTIFY_GRACE_SECONDS).
Try: /find kaisha · /person Qaisha (then :press 2 for History) · /subscribe city Zharkent ·
     /subscriptions · /calendar · /lang ru · /start p1 · :inline Sairagul · /forget ·
     :as editor · :day · /edit Qaisha Aqan · /setasylum Qaisha Aqan refugee --silent ·
     /addperson Janar Serikova · /audit · /export
"""


def show(message: SentMessage) -> None:
    """Print what the bot sent (or changed in place), to whom, with its buttons numbered."""
    who = NAMES.get(message.chat_id, str(message.chat_id))
    action = "edits its message to" if message.method.startswith("edit") else "→"
    body = html_to_plain(message.text or "").replace("\n", "\n    ")
    print(f"\n[bot {action} {who}]\n    {body}")
    if message.document is not None:
        print(f"    📎 {message.document_filename} ({len(message.document):,} bytes)")
        lines = message.document.decode(errors="replace").splitlines()
        if (message.document_filename or "").endswith(".ics"):
            lines = [line for line in lines if line.startswith(("SUMMARY", "DTSTART;", "STATUS"))]
        for line in lines[:DOCUMENT_LINES]:
            print(f"       {line[:100]}")
        if len(lines) > DOCUMENT_LINES:
            print(f"       … {len(lines) - DOCUMENT_LINES:,} more lines")
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    buttons = [button["text"] for row in rows for button in row]
    if buttons:
        print("    " + "  ".join(f"[{n}] {text}" for n, text in enumerate(buttons, 1)))


def run_demo(settings: Settings) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(settings))
    return 0


async def _demo(settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="casewatch-demo-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'demo.db'}"
        await asyncio.to_thread(upgrade_database, database_url)
        engine = create_engine(database_url)
        await seed_demo_records(engine)
        await engine.dispose()
        api = LocalBotApi(DEMO_TOKEN)
        async with serve_local_api(api) as url:
            demo_settings = settings.model_copy(
                update={
                    "telegram_bot_token": SecretStr(DEMO_TOKEN),
                    "telegram_api_url": url,
                    "database_url": database_url,
                    "admin_ids": frozenset({PERSONAS["editor"].user.id}),
                    "notify_grace_seconds": DEMO_GRACE_SECONDS,
                }
            )
            async with polling(build_application(demo_settings)):
                print(BANNER)
                api.on_send.append(show)
                await TerminalChat(api).converse()


class TerminalChat:
    """Reads lines from the terminal and sends them as the current persona."""

    def __init__(self, api: LocalBotApi) -> None:
        self.api = api
        self.persona = PERSONAS["aigerim"]
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()

    async def converse(self) -> None:
        loop = asyncio.get_running_loop()

        def read_stdin() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self.lines.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(self.lines.put_nowait, None)

        threading.Thread(target=read_stdin, daemon=True, name="demo-stdin").start()
        while True:
            print(f"{self.persona.key}> ", end="", flush=True)
            line = await self.lines.get()
            if line is None:  # end of input: let pending pushes arrive, then leave
                await asyncio.sleep(DEMO_GRACE_SECONDS + 2)
                return
            if line.strip() in (":quit", ":q"):
                return
            await self.handle(line.strip())

    async def handle(self, line: str) -> None:
        if not line:
            return
        if line.startswith(":"):
            await self.terminal_command(line)
            return
        chat_id = self.persona.user.id
        before = self._seen(chat_id)
        await self.api.user_sends(self.persona.user, None, line)
        await self._wait_reply(chat_id, before, pressed=False)

    async def terminal_command(self, line: str) -> None:
        word, _, argument = line[1:].partition(" ")
        if word == "as" and argument.strip().lower() in PERSONAS:
            self.persona = PERSONAS[argument.strip().lower()]
            print(f"now talking as {self.persona.key} ({self.persona.role})")
        elif word == "press" and argument.strip().isdigit():
            await self.press(int(argument))
        elif word == "inline" and argument.strip():
            await self.inline(argument.strip())
        elif word == "send" and argument.strip():
            await self.send_file(argument.strip())
        elif word == "day":
            await self.play(editor_day(date.today() + timedelta(weeks=6)))
        elif word == "wait":
            await asyncio.sleep(float(argument) if _is_number(argument) else 1.0)
        else:
            print(
                f"unknown: {line} — try :as {'|'.join(PERSONAS)}, :press N, :wait S, "
                ":inline TEXT, :send FILE [caption], :day, :quit"
            )

    async def play(self, lines: tuple[str, ...]) -> None:
        """Type `lines` one after another, each shown as if typed."""
        for line in lines:
            print(f"{self.persona.key}> {line}")
            await self.handle(line)

    async def send_file(self, argument: str) -> None:
        """Send a file from this computer, with a caption (`/import` for an import)."""
        name, _, caption = argument.partition(" ")
        path = Path(name)
        try:
            content = await asyncio.to_thread(_read_file, path)
        except OSError as error:
            print(f"cannot read {path}: {error.strerror or error}")
            return
        chat_id = self.persona.user.id
        before = self._seen(chat_id)
        await self.api.user_sends_document(
            self.persona.user, None, path.name, content, caption.strip() or None
        )
        await self._wait_reply(chat_id, before, pressed=False)

    async def inline(self, query: str) -> None:
        """Inline mode: what the person would be offered typing `@bot query` in any chat."""
        query_id = await self.api.user_sends_inline_query(self.persona.user, query)
        try:
            answer = await self.api.inline_answer(query_id, timeout=REPLY_WAIT_SECONDS)
        except TimeoutError:
            print("(no answer)")
            return
        print(f"\n[bot, inline, cached {answer.cache_time} s, personal: {answer.is_personal}]")
        for number, result in enumerate(answer.results, 1):
            print(f"    ({number}) {result.get('title')} — {result.get('description', '')}")
        if not answer.results:
            print("    (no public person matches)")

    async def press(self, number: int) -> None:
        """Press a button of the last message with buttons, as it stands now (after edits)."""
        chat_id = self.persona.user.id
        with_buttons = [m for m in self.api.messages_to(chat_id) if m.reply_markup]
        current = self.api.message(chat_id, with_buttons[-1].message_id) if with_buttons else None
        rows = ((current or {}).get("reply_markup") or {}).get("inline_keyboard") or []
        buttons = [button for row in rows for button in row]
        if not 1 <= number <= len(buttons) or "callback_data" not in buttons[number - 1]:
            print("no such button (or one that opens a link or another chat)")
            return
        before = self._seen(chat_id)
        await self.api.user_presses(
            self.persona.user, with_buttons[-1], buttons[number - 1]["callback_data"]
        )
        await self._wait_reply(chat_id, before)

    def _seen(self, chat_id: int) -> tuple[int, int, int]:
        """How much the bot has said so far: messages, edits (in this chat), button answers."""
        edits = [edit for edit in self.api.edits if edit.chat_id == chat_id]
        return len(self.api.messages_to(chat_id)), len(edits), len(self.api.callback_answers)

    async def _wait_reply(
        self, chat_id: int, before: tuple[int, int, int], *, pressed: bool = True
    ) -> None:
        """Wait for a message; after a press, an edit or a button answer with words (shown
        here) will do too."""

        def answered() -> bool:
            messages, edits, _ = self._seen(chat_id)
            toasts = [a for a in self.api.callback_answers[before[2] :] if a.text]
            return messages > before[0] or (pressed and (edits > before[1] or bool(toasts)))

        try:
            await self.api.wait_until(answered, REPLY_WAIT_SECONDS)
        except TimeoutError:
            print("(no reply)")
        # An answer may come in several messages (a card, then a question): let them come.
        seen = self._seen(chat_id)
        with contextlib.suppress(TimeoutError):
            await self.api.wait_until(lambda: self._seen(chat_id) != seen, MORE_REPLY_SECONDS)
        for answer in self.api.callback_answers[before[2] :]:
            if answer.text:
                print(f"\n[bot, on the button] {answer.text}")


def _read_file(path: Path) -> bytes:
    return path.expanduser().read_bytes()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
