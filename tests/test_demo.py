"""`casewatch demo` as a newcomer runs it: a scripted terminal conversation."""

import subprocess
import sys

SCRIPT = "\n".join(
    [
        "/find kaisha",
        "/subscribe Qaisha Aqan",
        ":as editor",
        "/sethearing Qaisha Aqan 2028-06-06 10:00 Zharkent district court",
        ":as dana",
        "/person Сайрагуль",
        ":wait 4",
        ":as aigerim",
        "/history Qaisha Aqan",
        "/calendar",
        "/subscribe city Zharkent",
        "/subscriptions",
        ":inline Sairagul",
        ":as asel",
        "/lang",
        ":press 2",
        "",
    ]
)


def test_demo_shows_replies_and_the_push_in_the_followers_chat() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        input=SCRIPT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[bot → aigerim]\n    Found 1 person:\n    • Qaisha Aqan #1" in out
    assert "You now follow Qaisha Aqan #1" in out
    assert "Saved for Qaisha Aqan #1: hearing set for Tue 6 Jun 2028, 10:00" in out
    assert "Сайрагүл Сауытбай" in out  # Dana's card, in Russian
    push = out.split("[bot → aigerim]")[2]
    assert "hearing set for Tue 6 Jun 2028, 10:00, Zharkent district court" in push
    # The new commands, as the banner suggests them.
    assert "History of Qaisha Aqan #1" in out
    assert "📎 casewatch.ics" in out and "DTSTART;TZID=Asia/Almaty:20280606T100000" in out
    assert "You now follow every case in this city: Zharkent." in out
    assert "city: Zharkent — every change" in out
    assert "[bot, inline, cached 30 s, personal: True]\n    (1) Sairagul Sauytbay" in out
    assert "[1] English  [2] Русский  [3] Қазақша" in out
    assert "Язык этого чата изменён: Русский." in out
    assert "Traceback" not in out + result.stderr and "ERROR" not in result.stderr


def test_demo_plays_an_editors_whole_day() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        input=":day\n:wait 4\n",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    steps = [
        "Added Janar Serikova #5.",  # a person…
        "record updated: court: Zharkent district court",  # …with a case, by guided editing
        "confirmed by a document",
        "📣 1 chat will be told at",  # the preview: who is told, and when
        "[1] ↩️ Undo  [2] 🔕 Don't notify",
        "Taken back for Janar Serikova #5",  # Undo
        "[bot → aigerim]\n    🔔 Janar Serikova #5",  # the city's follower is told
        "🔕 A correction: the record is changed, and nobody is told.",  # corrected silently
        "(correction, followers were not told)",  # and the history says so
        "Imported. People added: 20, changed: 0, unchanged: 0.",  # a CSV of 20 people
        "📎 casewatch-",  # the export
        "Audit log of Janar Serikova #5",
    ]
    positions = [out.find(step) for step in steps]
    assert all(position >= 0 for position in positions), dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
    push = out.split("[bot → aigerim]\n    🔔 Janar Serikova #5")[1].split("editor>")[0]
    assert "11:00" in push and "10:00" not in push and "11:30" not in push
    assert "Traceback" not in out + result.stderr and "ERROR" not in result.stderr
