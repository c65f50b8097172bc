"""tests/failed_tasks.py finds the failed tasks of a Molecule log, and only those."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import failed_tasks  # noqa: E402  pylint: disable=wrong-import-position

LOG = """\
\x1b[36mINFO    \x1b[0m vm \u279c verify: Executing
  \u2502 TASK [What failed in the run (web rolled, api rolled back, solo updated
  \u2502   start-first (VMs))] ***
  \u2502 ok: [h1] =>
  \u2502     msg:
  \u2502     - |-
  \u2502         fatal: [h1]: FAILED! =>
  \u2502             msg: 'service api: update of batch 1/2 failed'
  \u2502
  \u2502 TASK [A probe that may fail] ***
  \u2502 fatal: [h2]: FAILED! =>
  \u2502     msg: not yet
  \u2502 ...ignoring
  \u2502
  \u2502 TASK [Every host has exactly the objects it had before]
  \u2502   ***************************************************************
  \u2502 \x1b[0;31mfatal: [h2]: FAILED! => \x1b[0m
  \u2502 \x1b[0;31m    assertion: snapshot == reboot_before\x1b[0m
  \u2502 \x1b[0;31m    msg: missing ['route 10.0.0.0/24'], extra []\x1b[0m
  \u2502 ok: [h1]
  \u2502
  \u2502 TASK [Task processes on this VM] ***
  \u2502 failed: [h3] (item=80 rolled) =>
  \u2502     stdout: |-
  \u2502         one
  \u2502
  \u2502         two
  \u2502     rc: 2
  \u2502
  \u2502 PLAY RECAP
"""


def test_each_failure_with_its_task_and_message():
    found = failed_tasks.failures(LOG)
    assert found == [
        ("TASK [Every host has exactly the objects it had before] ***************************************************************",
         ["fatal: [h2]: FAILED! =>", "    assertion: snapshot == reboot_before",
          "    msg: missing ['route 10.0.0.0/24'], extra []"]),
        ("TASK [Task processes on this VM] ***",
         ["failed: [h3] (item=80 rolled) =>", "    stdout: |-", "        one", "", "        two", "    rc: 2"]),
    ]


def test_report_names_the_task_without_its_stars():
    text = failed_tasks.report(LOG)
    assert text.startswith("TASK [Every host has exactly the objects it had before]\nfatal: [h2]")
    assert "not yet" not in text            # ignored
    assert "service api" not in text        # a nested run's output, shown by a task that passed


def test_a_long_message_is_cut():
    log = "TASK [Big] ***\nfatal: [h1]: FAILED! =>\n" + "".join("    line %d\n" % i for i in range(100))
    lines = failed_tasks.report(log).splitlines()
    assert len(lines) == 2 + failed_tasks.MAX_LINES and lines[-1] == "    ... (61 more lines)"


def test_a_log_without_failures():
    assert failed_tasks.report("TASK [x] ***\nok: [h1]\n") == ""


def test_a_command_is_left_out_and_what_it_printed_kept():
    log = ("TASK [Ping] ***\nfatal: [h2]: FAILED! =>\n    changed: false\n    cmd: |-\n        set -u\n"
           + "        ping -c 1 10.0.0.%d\n" * 3 % (1, 2, 3)
           + "  wrapped by molecule: one long line\n    msg: |-\n        h2 -> 10.0.0.2: FAILED\n    rc: 1\n")
    assert failed_tasks.failures(log) == [
        ("TASK [Ping] ***", ["fatal: [h2]: FAILED! =>", "    changed: false", "    msg: |-",
                             "        h2 -> 10.0.0.2: FAILED", "    rc: 1"])]
