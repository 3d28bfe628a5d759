"""/import (a JSON or CSV file of records, for editors) and /export [json|csv] (the records
as a file: restricted people for owners and viewers, in private chats)."""

import io
import re
from html import escape

from telegram import Document, Message, Update

from handlers.context import CaseContext, command_args, language
from handlers.guards import editors_only, role_here
from handlers.i18n import t
from handlers.parsing import BadArguments
from handlers.render import fit
from handlers.replies import reply, reply_usage
from storage.engine import session_scope
from storage.models import Role, utcnow
from storage.records_io import (
    FORMATS,
    ImportRejected,
    ImportReport,
    RecordsFileError,
    export_records,
    format_of,
    import_records,
    read_records,
)
from storage.timeline import claim_update

MAX_IMPORT_BYTES = 5 * 1024 * 1024
# Of the refused rows, how many an answer in the chat lists (the command line lists all).
LISTED_ROWS = 30
NOTIFY = "--notify"
# A document whose caption is the command: "/import", "/import@bot --notify".
IMPORT_CAPTION = re.compile(r"^/import(@\w+)?(\s|$)", re.IGNORECASE)
SEES_EVERY_EXPORT = frozenset({Role.OWNER, Role.VIEWER})


def parse_import(text: str) -> bool:
    """Whether `/import` asks to tell followers (`--notify`); anything else is refused."""
    if text in ("", NOTIFY):
        return text == NOTIFY
    raise BadArguments("error.usage")


def parse_export(text: str) -> str:
    """The format `/export` asks for: json (the default) or csv."""
    chosen = text.lower() or "json"
    if chosen not in FORMATS:
        raise BadArguments("error.usage")
    return chosen


def report_lines(report: ImportReport, lang: str, *, limit: int | None = None) -> list[str]:
    """What an import came to, as plain text lines: the counts, or each refused row and why
    (the first `limit` of them)."""
    if not report.rejected:
        return [
            t(
                lang,
                "import.done",
                added=report.added,
                changed=report.changed,
                unchanged=report.unchanged,
            )
        ]
    lines = [t(lang, "import.refused", count=len(report.rejected))]
    shown = report.rejected if limit is None else report.rejected[:limit]
    for error in shown:
        reason = t(lang, f"import.row.{error.reason}")
        detail = f" ({error.detail})" if error.detail else ""
        lines.append(t(lang, "import.row_line", row=error.row) + f" {reason}{detail}")
    if len(shown) < len(report.rejected):
        lines.append(t(lang, "import.more", count=len(report.rejected) - len(shown)))
    return lines


def file_problem(error: RecordsFileError, lang: str) -> str:
    """Why a file cannot be read at all, as plain text."""
    detail = f" ({error.detail})" if error.detail else ""
    return t(lang, f"import.file.{error.reason}") + detail


def render_import(report: ImportReport, lang: str, *, notify: bool) -> str:
    lines = [escape(line) for line in report_lines(report, lang, limit=LISTED_ROWS)]
    if not report.rejected:
        lines.append(t(lang, "import.notified" if notify else "import.silent"))
    return fit("\n".join(lines))


def attached_document(message: Message) -> Document | None:
    """The file sent with the command, or in the message it replies to."""
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def import_command(update: Update, context: CaseContext) -> None:
    """`/import [--notify]` as a file's caption, or in reply to a file: records, all or nothing."""
    lang, message, user = language(update), update.effective_message, update.effective_user
    assert message is not None and user is not None
    if message.text is None:  # a caption is no command to the guard group: its guard, here
        await editors_only(update, context)
    try:
        notify = parse_import(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "import", error, lang)
        return
    document = attached_document(message)
    if document is None:
        await reply(update, t(lang, "import.no_file"))
        return
    file_format = format_of(document.file_name or "")
    if file_format is None:
        await reply(update, t(lang, "import.wrong_type", name=escape(document.file_name or "")))
        return
    if (document.file_size or 0) > MAX_IMPORT_BYTES:
        await reply(update, t(lang, "import.too_large", limit="5 MiB"))
        return
    content = await (await document.get_file()).download_as_bytearray()
    await reply(update, await _imported(update, context, bytes(content), file_format, notify))


async def _imported(
    update: Update, context: CaseContext, content: bytes, file_format: str, notify: bool
) -> str:
    """The answer to an import of `content`: its report, or why nothing was written."""
    lang, services = language(update), context.services
    assert update.effective_user is not None
    try:
        text = content.decode("utf-8-sig")
        async with session_scope(services.engine) as session:
            if not await claim_update(session=session, update_id=update.update_id):
                return t(lang, "import.already")
            report = await import_records(
                session=session,
                rows=read_records(io.StringIO(text, newline=""), file_format),
                actor_id=update.effective_user.id,
                default_tz=services.default_tz,
                notify=notify,
                grace=services.grace,
                now=utcnow(),
            )
    except UnicodeDecodeError:
        return escape(file_problem(RecordsFileError("not_utf8"), lang))
    except RecordsFileError as error:
        return escape(file_problem(error, lang))
    except ImportRejected as rejected:
        return render_import(rejected.report, lang, notify=notify)
    return render_import(report, lang, notify=notify)


async def export_command(update: Update, context: CaseContext) -> None:
    """`/export [json|csv]`: every record this reader may see, as a file."""
    lang, message, chat = language(update), update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    try:
        file_format = parse_export(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "export", error, lang)
        return
    out = io.StringIO()
    # Who may export at all is checked in the guard group (viewers and up); who gets the
    # restricted people too, here.
    async with session_scope(context.services.engine) as session:
        role = await role_here(session, update)
        everyone = role in SEES_EVERY_EXPORT and chat.type == chat.PRIVATE
        count = await export_records(
            session=session, out=out, file_format=file_format, include_restricted=everyone
        )
    caption = t(lang, "export.caption", count=count)
    if not everyone:
        caption += "\n" + t(lang, "export.public_only")
    filename = f"casewatch-{utcnow():%Y-%m-%d}.{file_format}"
    await message.reply_document(
        out.getvalue().encode(), filename=filename, caption=caption, do_quote=False
    )
