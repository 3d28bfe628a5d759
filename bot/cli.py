"""The `casewatch` command line: run, demo, seed, db upgrade."""

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError

from bot.app import ALLOWED_UPDATES, build_application
from bot.demo import run_demo
from bot.logs import configure_logging
from bot.seed import DEMO_PEOPLE, seed_demo_records
from bot.settings import Settings
from storage.engine import create_engine
from storage.migrate import upgrade_database

log = logging.getLogger("casewatch")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casewatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling); applies migrations first")
    commands.add_parser("demo", help="the real bot against a built-in local Bot API, no token")
    commands.add_parser("seed", help="load the demo records (idempotent)")
    db = commands.add_parser("db", help="database maintenance")
    db.add_subparsers(dest="db_command", required=True).add_parser(
        "upgrade", help="apply migrations"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        print(f"casewatch: bad setting {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return 2
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    # The demo is a conversation in the terminal: only warnings may interrupt it.
    configure_logging(
        token=token, level=logging.WARNING if args.command == "demo" else logging.INFO
    )
    if args.command == "run":
        return run(settings)
    if args.command == "demo":
        return run_demo(settings)
    upgrade_database(settings.database_url)
    if args.command == "seed":
        added = asyncio.run(_seed(settings.database_url))
        print(
            f"casewatch: {added} demo people added ({len(DEMO_PEOPLE) - added} were there already)"
        )
    else:
        print("casewatch: database is up to date")
    return 0


def run(settings: Settings) -> int:
    if settings.telegram_bot_token is None:
        print(
            "casewatch: TELEGRAM_BOT_TOKEN is not set (see README, Configuration)", file=sys.stderr
        )
        return 2
    upgrade_database(settings.database_url)
    log.info("starting (long polling, API %s)", settings.telegram_api_url)
    build_application(settings).run_polling(
        drop_pending_updates=False, allowed_updates=ALLOWED_UPDATES
    )
    return 0


async def _seed(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        return await seed_demo_records(engine)
    finally:
        await engine.dispose()
