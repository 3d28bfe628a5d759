"""The operator's side of `casewatch`: every start-up failure is one line and exit code 2.

The real process, as an operator starts it: no traceback, the token in no output, and
while the Bot API cannot be reached, a line per retry until it can (or until SIGTERM).
"""

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.localapi import LocalBotApi, serve_local_api
from bot.settings import Settings
from tests.e2e import FOLLOWER, TOKEN
from tests.test_process import START_SECONDS, _environment, bot_process

# Well-formed, not the emulator's: the token of some other bot.
OTHER_TOKEN = "123456789:AAH-another-bots-secret-token_xyz"
PASSWORD = "hunter2-secret"


def _casewatch(tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`casewatch <command>` in `tmp_path` (no .env of ours), with exactly `env` set."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *command],
        env=_environment(**env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line_failure(result: subprocess.CompletedProcess[str], *secrets: str) -> str:
    """The single line a failed start printed, after checking what must hold of every one."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert all(secret not in output for secret in secrets)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("casewatch: ")
    return line


def _closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("", "TELEGRAM_BOT_TOKEN is not valid: it is empty"),
        ("123456:ABC secret/part", "TELEGRAM_BOT_TOKEN is not valid: it does not look like"),
        ("AAH-only-the-secret-half", "TELEGRAM_BOT_TOKEN is not valid: it does not look like"),
    ],
)
def test_malformed_token_is_refused_before_connecting_without_showing_it(
    tmp_path: Path, token: str, expected: str
) -> None:
    # The API address is closed: a check that connected would retry instead of failing.
    result = _casewatch(
        tmp_path,
        "run",
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=f"http://127.0.0.1:{_closed_port()}",
        DATABASE_URL=f"sqlite:///{tmp_path}/casewatch.db",
    )
    line = _one_line_failure(result, *([token] if token else []))
    assert line.startswith(f"casewatch: {expected}")
    assert not (tmp_path / "casewatch.db").exists()  # nothing was done before the check


async def test_token_telegram_rejects_is_one_line_without_the_token(
    database_url: str, tmp_path: Path
) -> None:
    api = LocalBotApi(TOKEN)
    log = tmp_path / "casewatch.log"
    async with serve_local_api(api) as url:
        env = _environment(
            TELEGRAM_BOT_TOKEN=OTHER_TOKEN, TELEGRAM_API_URL=url, DATABASE_URL=database_url
        )
        async with bot_process(env, log) as process:
            code = await asyncio.wait_for(process.wait(), START_SECONDS)
    output = log.read_text()
    assert code == 2, output
    assert output.strip().splitlines() == [
        f"casewatch: the Bot API at {url} rejected TELEGRAM_BOT_TOKEN; "
        "check the token with @BotFather (and TELEGRAM_API_URL)"
    ]
    assert OTHER_TOKEN.split(":")[1] not in output


async def test_without_network_it_retries_saying_so_then_stops_quietly_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "casewatch.log"
    url = f"http://127.0.0.1:{_closed_port()}"
    env = _environment(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url, DATABASE_URL=database_url)
    async with bot_process(env, log) as process:
        await _wait_for_line(log, "trying again in 2 s")
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), START_SECONDS)
    lines = log.read_text().strip().splitlines()
    assert code == 0, lines
    assert len(lines) == 2  # one line per failed attempt, nothing else
    assert all(f"cannot reach the Bot API at {url}" in line for line in lines)
    assert lines[0].endswith("trying again in 1 s")
    assert lines[1].endswith("trying again in 2 s")
    assert TOKEN.split(":")[1] not in "\n".join(lines)


async def test_bot_api_that_comes_up_late_is_reached_and_the_bot_answers(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "casewatch.log"
    port = _closed_port()
    api = LocalBotApi(TOKEN)
    env = _environment(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=database_url,
    )
    async with bot_process(env, log) as process:
        await _wait_for_line(log, "trying again in 1 s")
        async with serve_local_api(api, port=port):
            await api.user_sends(FOLLOWER, None, "/help")
            await api.wait_for_messages(FOLLOWER.id, 1, timeout=START_SECONDS)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), START_SECONDS)
    text = log.read_text()
    assert code == 0, text
    assert "starting as @" in text
    assert "Traceback" not in text and "Unclosed" not in text


async def _wait_for_line(log: Path, text: str) -> None:
    """Until the process has written `text` to its log (it writes as it goes)."""

    def written() -> None:
        deadline = time.monotonic() + START_SECONDS
        while text not in log.read_text():
            assert time.monotonic() < deadline, f"no {text!r} in {log.read_text()!r}"
            time.sleep(0.05)

    await asyncio.to_thread(written)


UPGRADE = ["db", "upgrade"]
UNSUPPORTED = ("mysql://casewatch:{password}@db/x", "the scheme 'mysql' is not supported; use")
UNREACHABLE = ("postgresql://casewatch:{password}@127.0.0.1:{port}/x", "cannot reach the database")


# All three commands open the database the same way (upgrade_database): every case with one
# of them, the two kinds (a setting refused, a database that cannot be opened) with the rest.
@pytest.mark.parametrize(
    ("command", "database", "expected"),
    [
        (UPGRADE, *UNSUPPORTED),
        (UPGRADE, "sqlite:///{tmp}/a-file/x.db", "cannot create the folder {tmp}/a-file"),
        (UPGRADE, "sqlite:///{tmp}", "{tmp} is a folder, not a database file"),
        (UPGRADE, "sqlite:///{tmp}/a-file", "cannot open the database file {tmp}/a-file"),
        (UPGRADE, *UNREACHABLE),
        (["seed"], *UNSUPPORTED),
        (["seed"], *UNREACHABLE),
        (["run"], *UNSUPPORTED),
        (["run"], *UNREACHABLE),
    ],
)
def test_database_that_cannot_be_used_is_named_in_one_line(
    tmp_path: Path, command: list[str], database: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("not a database, and not a folder " * 100)
    values = {"tmp": str(tmp_path), "password": PASSWORD, "port": str(_closed_port())}
    result = _casewatch(
        tmp_path,
        *command,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_URL=database.format(**values),
    )
    line = _one_line_failure(result, PASSWORD, TOKEN)
    assert expected.format(**values) in line


def test_each_wrong_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = _casewatch(
        tmp_path,
        "run",
        TELEGRAM_BOT_TOKEN=TOKEN,
        ADMIN_IDS="11111111,@editor",
        CASEWATCH_TZ="Asia/Almaty-ish",
        SEND_RATE_PER_SECOND="fast",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "casewatch: ADMIN_IDS='11111111,@editor' is not valid: "
        "expected Telegram user ids and commas, e.g. 11111111,22222222",
        "casewatch: CASEWATCH_TZ='Asia/Almaty-ish' is not valid: "
        "not a time zone; use an IANA name such as Asia/Almaty",
        "casewatch: SEND_RATE_PER_SECOND='fast' is not valid: "
        "input should be a valid number, unable to parse string as a number",
    ]


def test_seed_reads_the_database_url_alone(tmp_path: Path) -> None:
    result = _casewatch(
        tmp_path,
        "seed",
        DATABASE_URL=f"sqlite:///{tmp_path}/casewatch.db",
        TELEGRAM_BOT_TOKEN="not a token",
        ADMIN_IDS="everyone",
        CASEWATCH_TZ="Mars/Olympus_Mons",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "casewatch: 4 demo people added (0 were there already)"


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_help_of_run_names_every_variable_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "run")
    assert "long polling" in text
    assert all(name.upper() in text for name in Settings.model_fields)


@pytest.mark.parametrize("command", [["seed"], ["db", "upgrade"]])
def test_help_of_database_commands_names_database_url_only(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    text = _help(capsys, *command)
    assert "migrations" in text and "DATABASE_URL" in text
    assert not any(
        name.upper() in text for name in Settings.model_fields if name != "database_url"
    )


def test_help_of_demo_says_it_reads_no_environment(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "demo")
    assert "environment: none" in text
    assert not any(name.upper() in text for name in Settings.model_fields)


def test_export_imported_elsewhere_exports_the_same_records(tmp_path: Path) -> None:
    source, copy = f"sqlite:///{tmp_path}/source.db", f"sqlite:///{tmp_path}/copy.db"
    assert _casewatch(tmp_path, "seed", DATABASE_URL=source).returncode == 0
    exported = _casewatch(tmp_path, "export", DATABASE_URL=source)
    written = _casewatch(tmp_path, "export", "-o", "people.csv", DATABASE_URL=source)
    (tmp_path / "people.json").write_text(exported.stdout)

    from_json = _casewatch(tmp_path, "import", "people.json", DATABASE_URL=copy)
    from_csv = _casewatch(tmp_path, "import", "people.csv", DATABASE_URL=copy)

    assert exported.returncode == 0 and exported.stdout.startswith("[\n{")
    assert written.stderr.strip() == "casewatch: 4 people written to people.csv"
    assert from_json.stdout.strip() == (
        "casewatch: Imported. People added: 4, changed: 0, unchanged: 0."
    )
    assert from_csv.stdout.strip() == (
        "casewatch: Imported. People added: 0, changed: 0, unchanged: 4."
    )
    assert _casewatch(tmp_path, "export", DATABASE_URL=copy).stdout == exported.stdout


def test_import_with_refused_rows_lists_each_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("name;birth_year\nSample A;1990\n;1991\nSample B;old\n")
    database = f"sqlite:///{tmp_path}/casewatch.db"

    result = _casewatch(tmp_path, "import", "people.csv", DATABASE_URL=database)
    exported = _casewatch(tmp_path, "export", DATABASE_URL=database)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "casewatch: Nothing was imported: 2 rows were refused.",
        "casewatch: Row 3: the name is missing",
        "casewatch: Row 4: a whole number is expected (birth_year: old)",
    ]
    assert exported.stdout == "[]\n"


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("missing.json", None, "casewatch: cannot read missing.json (No such file or directory)"),
        (
            "broken.json",
            '[{"name": "A"}',
            "casewatch: broken.json: The file is not valid JSON. (the list is not closed with ])",
        ),
        (
            "columns.csv",
            "name,shoe_size\nA,42\n",
            "casewatch: columns.csv: The CSV file has columns that are not in the format "
            "(shoe_size)",
        ),
        (
            "people.xlsx",
            "",
            "casewatch: cannot tell the format of people.xlsx from its name; "
            "add --format json|csv",
        ),
    ],
)
def test_a_file_import_cannot_read_is_one_line(
    tmp_path: Path, filename: str, content: str | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / filename).write_text(content)
    result = _casewatch(
        tmp_path, "import", filename, DATABASE_URL=f"sqlite:///{tmp_path}/casewatch.db"
    )
    assert _one_line_failure(result) == expected
