"""The `casewatch` command line: run, demo, seed, db upgrade, import, export.

A start-up failure the operator can fix is one line on standard error,
`casewatch: <what is wrong; what to do>`, and exit code 2: never a traceback, never the token.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TextIO, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.exc import DBAPIError
from telegram import User
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.app import ALLOWED_UPDATES, build_application, connected_builder
from bot.demo import run_demo
from bot.logs import configure_logging
from bot.seed import DEMO_PEOPLE, seed_demo_records
from bot.settings import DatabaseSettings, Settings
from handlers.import_export import file_problem, report_lines
from storage.engine import DatabaseUnavailable, create_engine, describe_database, session_scope
from storage.migrate import upgrade_database
from storage.models import utcnow
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

log = logging.getLogger("casewatch")

STARTUP_FAILED = 2
ROWS_REFUSED = 1  # `import`: some rows of the file were refused, nothing was written
INTERRUPTED = 130
# Waits between attempts to reach the Bot API at start: 1, 2, 4 … 60, 60 … seconds.
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 60.0
# The variables `run` reads besides the tuning ones, with what each is for.
RUN_ENVIRONMENT = {
    "TELEGRAM_BOT_TOKEN": "the bot's token from @BotFather (required; never logged)",
    "TELEGRAM_API_URL": "the Bot API server (default https://api.telegram.org)",
    "DATABASE_URL": "sqlite:///path.db or postgresql://user:pass@host/db "
    "(default sqlite:///data/casewatch.db)",
    "ADMIN_IDS": "comma-separated Telegram user ids of the owners",
    "CASEWATCH_TZ": "time zone of courts with none of their own (default Asia/Almaty)",
}
DATABASE_ENVIRONMENT = {"DATABASE_URL": RUN_ENVIRONMENT["DATABASE_URL"]}
FAILED = "2 a start-up failure, explained in one line on standard error (never a traceback)"

SettingsT = TypeVar("SettingsT", bound=DatabaseSettings)


class StartupError(Exception):
    """A start-up failure the operator can fix; each argument is one line to show."""


def _environment_help(variables: dict[str, str], *, exit_zero: str, tuning: bool = False) -> str:
    """The --help epilog: each variable the command reads, then its exit status."""
    lines = ["environment (a .env file in the working directory works too):"]
    lines += [f"  {name:<19} {meaning}" for name, meaning in variables.items()]
    if tuning:
        names = [name.upper() for name in Settings.model_fields if name.upper() not in variables]
        lines += textwrap.wrap(
            "tuning (see README, Configuration): " + ", ".join(names),
            initial_indent="  ",
            subsequent_indent="    ",
        )
    return "\n".join([*lines, "", *textwrap.wrap(f"exit status: 0 {exit_zero}; {FAILED}")])


def _command(
    parent: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    summary: str,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and which environment it reads."""
    return parent.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casewatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _command(
        commands,
        "run",
        "run the bot (long polling); applies migrations first",
        "Runs the bot: applies the database migrations, checks the token with the Bot API "
        "(getMe), then answers people by long polling and pushes changes to followers until "
        "SIGTERM or Ctrl+C. While the Bot API cannot be reached it says so and tries again "
        "after 1, 2, 4 … up to 60 seconds.",
        _environment_help(RUN_ENVIRONMENT, exit_zero="stopped by SIGTERM or Ctrl+C", tuning=True),
    ).set_defaults(handler=run)
    _command(
        commands,
        "demo",
        "the real bot against a built-in local Bot API, no token",
        "The real bot against a built-in local Bot API, a fresh SQLite database in a "
        "temporary folder with the demo records, and a terminal chat to talk to it as "
        "subscribers or as an editor. No token, no network.",
        "environment: none is read (the demo sets up everything it needs)",
    ).set_defaults(handler=demo)
    _command(
        commands,
        "seed",
        "load the demo records (idempotent)",
        "Applies the database migrations, then loads the four people of the demo story "
        "(from a published news report); "
        "people already there are left as they are, so running it twice changes nothing.",
        _environment_help(DATABASE_ENVIRONMENT, exit_zero="done"),
    ).set_defaults(handler=seed)
    importing = _command(
        commands,
        "import",
        "load records from a JSON or CSV file (all or nothing)",
        "Applies the database migrations, then imports the people, cases and hearings of FILE "
        "(JSON or CSV, told by its extension; the schema is in the README, Import and export). "
        "Every row is checked first: if any is refused, each refused row is listed with the "
        "reason and nothing is written. Importing the same file twice changes nothing. "
        "Followers are told nothing unless --notify is given.",
        _environment_help(
            DATABASE_ENVIRONMENT
            | {
                "CASEWATCH_TZ": RUN_ENVIRONMENT["CASEWATCH_TZ"],
                "NOTIFY_GRACE_SECONDS": "with --notify: how long changes wait (default 60)",
            },
            exit_zero="imported; 1 a row or more refused (each listed), nothing written",
        ),
    )
    importing.add_argument("file", metavar="FILE", type=Path)
    importing.add_argument(
        "--notify", action="store_true", help="tell followers of the changes (as editors do)"
    )
    importing.add_argument(
        "--format", choices=FORMATS, help="the file's format, when its name does not say"
    )
    importing.set_defaults(handler=import_file)
    exporting = _command(
        commands,
        "export",
        "write every record as JSON or CSV",
        "Applies the database migrations, then writes every person (restricted ones "
        "included) with their cases, hearings and relations, in order of id: JSON to "
        "standard output unless told otherwise. `casewatch import` of the file gives back "
        "the same records.",
        _environment_help(DATABASE_ENVIRONMENT, exit_zero="written"),
    )
    exporting.add_argument("--format", choices=FORMATS, help="json (default) or csv")
    exporting.add_argument("-o", "--output", metavar="FILE", type=Path, help="write to FILE")
    exporting.set_defaults(handler=export_file)
    db = commands.add_parser("db", help="database maintenance")
    _command(
        db.add_subparsers(dest="db_command", required=True),
        "upgrade",
        "apply migrations",
        "Applies the Alembic migrations, bringing the database to the newest schema "
        "(`run` does this at start too).",
        _environment_help(DATABASE_ENVIRONMENT, exit_zero="done"),
    ).set_defaults(handler=db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Callable[..., int] = args.handler
    try:
        return handler(args) if handler in (import_file, export_file) else handler()
    except StartupError as error:
        for line in error.args:
            print(f"casewatch: {line}", file=sys.stderr)
        return STARTUP_FAILED
    except KeyboardInterrupt:  # Ctrl+C before the bot runs (it handles its own)
        return INTERRUPTED


def run() -> int:
    settings = _load(Settings)
    if settings.telegram_bot_token is None:
        raise StartupError("TELEGRAM_BOT_TOKEN is not set (see README, Configuration)")
    configure_logging(token=settings.telegram_bot_token.get_secret_value())
    _upgrade(settings.database_url)
    me = asyncio.run(_reach_bot_api(settings))
    if me is None:
        return 0  # stopped while waiting for the Bot API
    log.info("starting as @%s (long polling, API %s)", me.username, settings.telegram_api_url)
    try:
        build_application(settings).run_polling(
            drop_pending_updates=False, allowed_updates=ALLOWED_UPDATES
        )
    except InvalidToken:  # revoked in the moment between the check and the start
        raise StartupError(_rejected(settings)) from None
    return 0


def demo() -> int:
    # The demo is a conversation in the terminal: only warnings may interrupt it. It reads
    # no environment: everything it needs (token, database, owners) it sets up itself.
    configure_logging(token="", level=logging.WARNING)
    return run_demo(Settings.model_construct())


def seed() -> int:
    settings = _load(DatabaseSettings)
    configure_logging(token="")
    _upgrade(settings.database_url)
    added = asyncio.run(_seed(settings.database_url))
    print(f"casewatch: {added} demo people added ({len(DEMO_PEOPLE) - added} were there already)")
    return 0


def db_upgrade() -> int:
    settings = _load(DatabaseSettings)
    configure_logging(token="")
    _upgrade(settings.database_url)
    print(f"casewatch: {describe_database(settings.database_url)} is up to date")
    return 0


def import_file(args: argparse.Namespace) -> int:
    path: Path = args.file
    file_format = args.format or format_of(path.name)
    if file_format is None:
        raise StartupError(
            f"cannot tell the format of {path} from its name; add --format json|csv"
        )
    settings = _load(Settings)
    configure_logging(token="")
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise StartupError(f"cannot read {path} ({error.strerror})") from None
    _upgrade(settings.database_url)
    with stream:
        try:
            report = asyncio.run(_import(settings, stream, file_format, notify=args.notify))
        except RecordsFileError as error:
            raise StartupError(f"{path}: {file_problem(error, 'en')}") from None
        except UnicodeDecodeError:
            raise StartupError(f"{path} is not UTF-8 text; save it as UTF-8") from None
        except ImportRejected as rejected:
            for line in report_lines(rejected.report, "en"):
                print(f"casewatch: {line}", file=sys.stderr)
            return ROWS_REFUSED
        except DBAPIError as error:
            raise _database_failed(settings.database_url, error) from None
    for line in report_lines(report, "en"):
        print(f"casewatch: {line}")
    return 0


def export_file(args: argparse.Namespace) -> int:
    output: Path | None = args.output
    file_format = args.format or (output and format_of(output.name)) or "json"
    settings = _load(DatabaseSettings)
    configure_logging(token="")
    _upgrade(settings.database_url)
    try:
        stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    except OSError as error:
        raise StartupError(f"cannot write {output} ({error.strerror})") from None
    try:
        count = asyncio.run(_export(settings.database_url, stream, file_format))
    except BrokenPipeError:  # `casewatch export | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except DBAPIError as error:
        raise _database_failed(settings.database_url, error) from None
    finally:
        if output:
            stream.close()
    if output:
        print(f"casewatch: {count} people written to {output}", file=sys.stderr)
    return 0


def _database_failed(url: str, error: DBAPIError) -> StartupError:
    """A database that failed mid-way (locked, connection lost): one line, nothing written."""
    reason = str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__
    return StartupError(f"{describe_database(url)} failed: {reason}; nothing was written")


async def _import(
    settings: Settings, stream: TextIO, file_format: str, *, notify: bool
) -> ImportReport:
    engine = create_engine(settings.database_url)
    try:
        async with session_scope(engine) as session:
            return await import_records(
                session=session,
                rows=read_records(stream, file_format),
                actor_id=None,
                default_tz=settings.casewatch_tz,
                notify=notify,
                grace=timedelta(seconds=settings.notify_grace_seconds),
                now=utcnow(),
            )
    finally:
        await engine.dispose()


async def _export(database_url: str, stream: TextIO, file_format: str) -> int:
    engine = create_engine(database_url)
    try:
        async with session_scope(engine) as session:
            return await export_records(
                session=session, out=stream, file_format=file_format, include_restricted=True
            )
    finally:
        await engine.dispose()


def _load(settings_class: type[SettingsT]) -> SettingsT:
    """The settings from the environment, or one line per wrong value (never the value of
    the token or of DATABASE_URL, which may hold a password)."""
    try:
        return settings_class()
    except ValidationError as error:
        raise StartupError(*(_invalid(problem) for problem in error.errors())) from None
    except (OSError, UnicodeDecodeError) as error:  # the .env file
        problem = f"cannot read .env in {Path.cwd()} ({error}); fix or remove it"
        raise StartupError(problem) from None


def _invalid(problem: ErrorDetails) -> str:
    name = str(problem["loc"][0]).upper()
    reason = str(problem["msg"]).removeprefix("Value error, ")
    reason = reason[:1].lower() + reason[1:]
    if name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL") or not isinstance(problem["input"], str):
        return f"{name} is not valid: {reason}"
    return f"{name}={problem['input']!r} is not valid: {reason}"


def _upgrade(database_url: str) -> None:
    try:
        upgrade_database(database_url)
    except DatabaseUnavailable as error:
        raise StartupError(str(error)) from None


def _rejected(settings: Settings) -> str:
    return (
        f"the Bot API at {settings.telegram_api_url} rejected TELEGRAM_BOT_TOKEN; "
        "check the token with @BotFather (and TELEGRAM_API_URL)"
    )


async def _reach_bot_api(settings: Settings) -> User | None:
    """The bot's own user from getMe, which checks the token; while the Bot API cannot be
    reached, says so and tries again with growing waits. None if stopped while waiting."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        delay = FIRST_RETRY_SECONDS
        while True:
            attempt = asyncio.ensure_future(_get_me(settings))
            stop = asyncio.ensure_future(stopped.wait())
            await asyncio.wait({attempt, stop}, return_when=asyncio.FIRST_COMPLETED)
            if stopped.is_set():
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
                return None
            stop.cancel()
            try:
                return attempt.result()
            except InvalidToken:  # its message holds the token: never shown
                raise StartupError(_rejected(settings)) from None
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                reason = "it asked to wait: 429 Too Many Requests"
            except NetworkError as error:
                wait, delay = delay, min(delay * 2, LAST_RETRY_SECONDS)
                reason = error.message
            except TelegramError as error:
                raise StartupError(
                    f"the Bot API at {settings.telegram_api_url} answered getMe with an error "
                    f"({_redacted(error.message, settings)}); check TELEGRAM_API_URL"
                ) from None
            log.warning(
                "cannot reach the Bot API at %s (%s); trying again in %g s",
                settings.telegram_api_url,
                _redacted(reason, settings),
                wait,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), wait)
            if stopped.is_set():
                return None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _get_me(settings: Settings) -> User:
    """One getMe, on connections closed again whatever happens (cancelled included)."""
    bot = connected_builder(settings).build().bot
    try:
        await bot.initialize()
        return bot.bot
    finally:
        await bot.shutdown()


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


def _redacted(text: str, settings: Settings) -> str:
    assert settings.telegram_bot_token is not None
    return text.replace(settings.telegram_bot_token.get_secret_value(), "<token>")


async def _seed(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        return await seed_demo_records(engine)
    finally:
        await engine.dispose()
