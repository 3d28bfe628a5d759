"""A local Telegram Bot API: what `casewatch demo` talks to, and the end-to-end tests too.

`LocalBotApi` holds the state of one bot's corner of Telegram: the chats it knows, the
messages in them, the updates waiting for `getUpdates`, the files. `build_app` serves it
over HTTP at `/bot{token}/{method}` and `/file/bot{token}/{path}` exactly as
api.telegram.org does, so python-telegram-bot is simply pointed at it::

    api = LocalBotApi(TOKEN)
    async with serve_local_api(api) as url:
        application = (
            ApplicationBuilder().token(TOKEN)
            .base_url(f"{url}/bot").base_file_url(f"{url}/file/bot").build()
        )

The user side (`user_sends`, `user_edits`, `user_presses`, `user_sends_document`,
`user_sends_inline_query`, `block`, `unblock`, `add_to_group`, `remove_from_group`) is what
a person does in a Telegram client; `set_administrators` says who runs a group; `sent`,
`messages_to`, `calls`, `wait_for_messages` and `inline_answer` show what the bot did;
`fail_next`, `migrate`, `rate_limit` and `latency` make Telegram misbehave the way it does
in production. Errors carry Telegram's own status codes, descriptions and `parameters`, so
the bot sees the same exceptions it would see for real.

The package imports nothing of ours outside it. One concern per module, lower ones first:

- records.py: the people, chats and records tests build and look at
- errors.py: Telegram's errors, with its status codes and descriptions
- html.py: the HTML parse mode and a client's bot_command entities
- params.py: a call's parameters, from a query string, a form or JSON
- updates.py: the update queue and long polling
- files.py: stored files; limits.py: flood limits (429)
- chats.py: chat state: members, administrators, the bot blocked, added, removed, migrated
- state.py: all of the above for one bot, which the methods work on
- messages.py, inline.py, methods.py: making bot messages; inline queries and the answers
  to them; the Bot API methods by name
- emulator.py: `LocalBotApi`, the side tests and the demo drive
- server.py: the HTTP app and `serve_local_api`
"""

from bot.localapi.emulator import LocalBotApi
from bot.localapi.errors import BotApiError
from bot.localapi.html import parse_html
from bot.localapi.records import (
    CallbackAnswer,
    Chat,
    FailedCall,
    InlineAnswer,
    SentMessage,
    UploadedFile,
    User,
)
from bot.localapi.server import build_app, serve_local_api
from bot.localapi.state import DEMO_TOKEN

__all__ = [
    "DEMO_TOKEN",
    "BotApiError",
    "CallbackAnswer",
    "Chat",
    "FailedCall",
    "InlineAnswer",
    "LocalBotApi",
    "SentMessage",
    "UploadedFile",
    "User",
    "build_app",
    "parse_html",
    "serve_local_api",
]
