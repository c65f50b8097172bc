"""Pure helpers of services: stale connections, the mesh table, unit files, the registry."""

import shutil
import subprocess
from types import SimpleNamespace as T

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import live, registry, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import conntrack, mesh

SERVICES = [{"vip": "10.10.1.8", "port": None,
             "backends": [{"address": "10.10.1.5", "weight": 1}, {"address": "10.10.1.6", "weight": 0}]},
            {"vip": "172.18.0.2", "port": 8080, "backends": [{"address": "10.255.0.5", "weight": 1}]}]


def entry(daddr, dport, to, status=conntrack.SEEN_REPLY | 0x8):        # answered and assured
    return T(daddr=daddr, dport=dport), T(saddr=to), status


def test_connections_to_removed_backends_are_stale_and_those_quiesced_ones_answered_finish():
    keep = conntrack._keep(SERVICES)
    assert not conntrack.is_stale(*entry("10.10.1.8", 80, "10.10.1.5"), keep, set())
    assert not conntrack.is_stale(*entry("10.10.1.8", 80, "10.10.1.5", status=0), keep, set())
    assert conntrack.is_stale(*entry("10.10.1.8", 80, "10.10.1.7"), keep, set())     # removed
    assert not conntrack.is_stale(*entry("10.10.1.8", 80, "10.10.1.6"), keep, set())  # weight 0, as IPVS
    assert conntrack.is_stale(*entry("10.10.1.8", 80, "10.10.1.6", status=0), keep, set())   # a SYN it never answered
    assert not conntrack.is_stale(*entry("172.18.0.2", 8080, "10.255.0.5"), keep, set())
    assert not conntrack.is_stale(*entry("10.10.9.9", 80, "10.10.9.9", status=0), keep, set())  # not ours
    assert conntrack.is_stale(*entry("10.10.1.99", 80, "10.10.1.5"), keep, {"10.10.1.99"})  # VIP gone


def test_mesh_single_backend_is_a_plain_dnat_and_egress_masquerades_out_and_hairpin():
    host_ports = [{"protocol": "tcp", "port": 5432, "target_port": 5432, "backends": ["172.18.0.3"]}]
    text = mesh.render("t", "br", [], host_ports, "172.18.0.0/16")
    assert "fib daddr type local tcp dport 5432 dnat to 172.18.0.3:5432" in text
    assert 'ip saddr 172.18.0.0/16 oifname != "br" masquerade' in text
    assert 'ip saddr 172.18.0.0/16 oifname "br" ct status dnat masquerade' in text
    assert text.count("dnat to 172.18.0.3:5432") == 2        # prerouting and output


def test_unit_quotes_arguments_for_systemd():
    unit = task.unit_text({"name": "web.1", "service": "web", "netns": "web.1",
                           "command": ["sh", "-c", 'echo "$HOME" 100%']})
    assert "NetworkNamespacePath=/run/netns/web.1" in unit
    assert 'ExecStart="sh" "-c" "echo \\"$$HOME\\" 100%%"' in unit
    assert "Restart=always" in unit
    # Ordered after the boot-time restore, never pulling it in (a converge restarts tasks).
    assert "After=network.target swarmnet-restore.service" in unit and "Wants=" not in unit
    assert "Nice=" not in unit                       # a user's task keeps the default priority
    # Stopped only after Serf has left, so that the other hosts drop it first at a reboot.
    assert "\nBefore=swarmnet-task-swarmnet-serf.service\n" in unit
    assert "ExecStopPost=" not in unit


def test_unit_carries_env_user_and_working_dir_only_when_given():
    spec = {"name": "web.1", "service": "web", "netns": "web.1", "command": ["srv"],
            "env": {"B": 'say "hi" 100% $x', "A": "1"}, "user": "www-data", "working_dir": "/srv"}
    lines = task.unit_text(spec).splitlines()
    at = lines.index('Environment="A=1"')
    assert lines[at:at + 4] == ['Environment="A=1"', 'Environment="B=say \\"hi\\" 100%% $x"',
                                "User=www-data", "WorkingDirectory=/srv"]
    assert lines[at + 4].startswith("ExecStart=")
    plain = task.unit_text({"name": "web.1", "service": "web", "netns": "web.1", "command": ["srv"]})
    assert "Environment=" not in plain and "User=" not in plain and "WorkingDirectory=" not in plain


def test_serf_s_unit_lingers_after_its_leave_so_the_tasks_stop_once_drained():
    layout = live.Layout("/var/lib/swarmnet", "/opt/swarmnet/venv/bin/python")
    unit = task.unit_text(layout.serf_spec("/usr/bin/serf", "config"))
    assert "\nExecStopPost=/bin/sleep %d\n" % live.LEAVE_DRAIN in unit and live.LEAVE_DRAIN >= 3
    assert "ExecStopPost=" not in task.unit_text(layout.agent_spec({"/a": "code"}))


def test_the_control_plane_s_units_run_ahead_of_the_tasks():
    layout = live.Layout("/var/lib/swarmnet", "/opt/swarmnet/venv/bin/python")
    for spec in (layout.serf_spec("/usr/bin/serf", "config"), layout.agent_spec({"/a": "code"})):
        assert "\nNice=-10\n" in task.unit_text(spec)
        assert "Before=" not in task.unit_text(spec)
    assert task.unit_name(live.SERF_TASK) == "swarmnet-task-swarmnet-serf.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (package systemd)")
def test_unit_with_a_multi_line_script_is_a_valid_unit(tmp_path):
    """systemd refuses a unit whose ExecStart= argument holds a raw newline ("Unbalanced quoting")."""
    script = 'import sys\nprint("a\tb", "$HOME", "100%", "back\\\\slash")\n'
    unit = task.unit_text({"name": "web.1", "service": "web", "netns": None,
                           "command": ["/usr/bin/python3", "-c", script]})
    assert "\\n" in unit and script not in unit
    path = tmp_path / "swarmnet-task-web.1.service"
    path.write_text(unit)
    check = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0 and check.stderr == "", check.stderr


def test_registry_text_is_sorted_and_stable():
    assert registry.text([{"name": "b"}, {"name": "a"}]) == registry.text([{"name": "a"}, {"name": "b"}])


def test_a_unit_s_main_process_is_the_first_started_of_its_control_group(tmp_path, monkeypatch):
    """The live agent watches systemd tasks through their control groups (no systemctl call)."""
    import os
    monkeypatch.setattr(task, "CGROUP_ROOTS", (str(tmp_path / "v2"), str(tmp_path / "v1")))
    group = tmp_path / "v1" / task.unit_name("web.1")
    group.mkdir(parents=True)
    child = subprocess.Popen(["sleep", "30"])
    try:
        (group / "cgroup.procs").write_text("%d\n%d\n" % (child.pid, os.getpid()))
        assert task.Systemd(None, None).processes(["web.1", "web.2"]) == {
            "web.1": task.process_identity(os.getpid()), "web.2": None}
    finally:
        child.kill()
        child.wait()
    (group / "cgroup.procs").write_text("%d\n" % child.pid)      # reaped: nothing runs
    assert task.Systemd(None, None).processes(["web.1"]) == {"web.1": None}


SHOWN = """MainPID=324
Id=swarmnet-task-web.1.service
ActiveState=active
UnitFileState=enabled

MainPID=0
Id=swarmnet-task-web.2.service
ActiveState=inactive
UnitFileState=
"""      # systemd 252's answer (Debian 12) for a running unit and one not installed, as a VM printed it


class FakeSystemctl:
    """systemctl as ensure_present sees it: `show` answers from a table, `is-enabled` from the units
    whose links are there; every call recorded."""

    def __init__(self, answer, linked=()):
        self.answer, self.linked, self.calls = answer, set(linked), []

    def __call__(self, argv):
        self.calls.append(argv[1:])
        if argv[1] == "show":
            return 0, self.answer(argv[3:]), ""
        if argv[1] == "is-enabled":
            return (0 if argv[-1] in self.linked else 1), "", ""
        return 0, "", ""


def test_systemd_reads_every_task_unit_in_one_systemctl_run_and_starts_only_what_is_not_running(tmp_path, monkeypatch):
    from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes
    monkeypatch.setattr(task, "UNIT_DIR", str(tmp_path))
    specs = [{"name": name, "service": "web", "netns": name, "command": ["/bin/sleep", "600"]} for name in ("web.1", "web.2")]
    (tmp_path / task.unit_name("web.1")).write_text(task.unit_text(specs[0]))
    started = SHOWN.replace("MainPID=0", "MainPID=411").replace("inactive", "active").replace("UnitFileState=\n", "UnitFileState=enabled\n")
    systemctl = FakeSystemctl(lambda units: SHOWN if len(units) == 2 else started.split("\n\n")[1])
    runner, changes = task.Systemd(systemctl, None), Changes(False)

    runner.observe(["web.1", "web.2"])
    assert [runner.ensure_present(spec, changes) for spec in specs] == [324, 411]
    unit2 = task.unit_name("web.2")
    assert systemctl.calls == [["show", "--property=Id,UnitFileState,ActiveState,MainPID", task.unit_name("web.1"), unit2],
                               ["daemon-reload"], ["is-enabled", "--quiet", unit2], ["enable", "--no-reload", unit2],
                               ["start", unit2],
                               ["show", "--property=Id,UnitFileState,ActiveState,MainPID", unit2]]   # its new MainPID
    assert changes.done == ["write %s" % (tmp_path / unit2), "systemctl daemon-reload", "enable " + unit2, "start " + unit2]

    systemctl.calls = []            # not observed: each unit read on its own, once
    assert task.Systemd(systemctl, None).ensure_present(specs[1], Changes(False)) == 411
    assert systemctl.calls == [["show", "--property=Id,UnitFileState,ActiveState,MainPID", unit2]]


def test_systemd_asks_is_enabled_where_a_loaded_unit_s_state_is_of_before_its_enable(tmp_path, monkeypatch):
    """`enable --no-reload` leaves the loaded unit's UnitFileState as it was (disabled) until a reload."""
    from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes
    monkeypatch.setattr(task, "UNIT_DIR", str(tmp_path))
    (tmp_path / "swarmnet-restore.service").write_text("[Unit]\n")
    stale = "Id=swarmnet-restore.service\nUnitFileState=disabled\nActiveState=inactive\nMainPID=0\n"
    for linked, enables in ((["swarmnet-restore.service"], []), ([], ["enable swarmnet-restore.service"])):
        changes = Changes(False)
        task.Systemd(FakeSystemctl(lambda units: stale, linked), None).install(
            "swarmnet-restore.service", "[Unit]\n", changes)
        assert changes.done == enables


def test_systemd_without_an_answer_for_a_unit_names_it():
    with pytest.raises(task.TaskError, match="no state for swarmnet-task-web.3.service"):
        task.parse_show(SHOWN, [task.unit_name("web.1"), task.unit_name("web.3")])
