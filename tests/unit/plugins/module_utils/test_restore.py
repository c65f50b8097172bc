"""Persist + restore, the parts that need no kernel: the kept state, the deployed program, the unit."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import restore

DESIRED = {key: ["value of " + key] for key in restore.KEPT}
DESIRED.update({"lb_drain": ["transient"], "absent_networks": ["old"], "dns": {"sandboxes": {}}})


def saved(**overrides):
    args = dict(desired=DESIRED, firewall_table="swarmnet_fw", firewall_state="present", lb_backend="auto",
                supervisor="auto", python="/opt/swarmnet/venv/bin/python")
    args.update(overrides)
    return restore.saved_text(**args)


def test_kept_state_holds_what_exists_and_the_settings_that_shape_it():
    kept = json.loads(saved())
    assert set(kept["desired"]) == set(restore.KEPT)
    assert "lb_drain" not in kept["desired"] and "absent_networks" not in kept["desired"]
    assert kept["firewall"] == {"table": "swarmnet_fw", "state": "present"}
    assert kept["format"] == restore.FORMAT


def test_kept_state_is_the_same_text_for_the_same_plan():
    """A converge with nothing to change must not rewrite it (honest `changed`)."""
    reordered = dict(reversed(list(DESIRED.items())))
    assert saved() == saved(desired=reordered)
    assert saved() != saved(lb_backend="nftables")


def test_the_role_passes_the_parts_the_module_keeps():
    """The restore role hands the module only these parts of the plan: the same ones, or the boot would
    miss one."""
    role = os.path.join(os.path.dirname(restore.__file__), "..", "..", "..", "roles", "restore", "tasks", "main.yml")
    with open(role, encoding="utf-8") as f:
        task = yaml.safe_load(f)[0]
    assert sorted(task["vars"]["swarmnet_restore_parts"]) == sorted(restore.KEPT)


def test_load_refuses_a_missing_file_and_another_format(tmp_path):
    with pytest.raises(restore.RestoreError, match="never converged"):
        restore.load(str(tmp_path))
    (tmp_path / "applied.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(restore.RestoreError, match="format 99"):
        restore.load(str(tmp_path))
    (tmp_path / "applied.json").write_text(saved())
    assert restore.load(str(tmp_path))["desired"]["networks"] == ["value of networks"]


def test_deployed_program_imports_with_nothing_but_its_own_files(tmp_path):
    """Every module_utils file the boot program needs is deployed: it imports in a clean interpreter."""
    program = restore.program_files(sys.executable)
    assert restore.ENTRY_POINT in program
    for path, text in program.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    lib = str(tmp_path / restore.LIB_DIR.lstrip("/"))
    check = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, %r); "
         "from %s import restore_boot; print(restore_boot.__file__)" % (lib, restore.__name__.rpartition(".")[0])],
        capture_output=True, text=True, check=False, env={"PATH": os.environ.get("PATH", "")})
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().startswith(lib)


def test_entry_point_runs_main_with_its_arguments():
    text = restore.entry_point_text("/opt/swarmnet/venv/bin/python")
    assert text.startswith("#!/opt/swarmnet/venv/bin/python\n")
    assert "restore_boot.main(sys.argv[1:])" in text
    compile(text, restore.ENTRY_POINT, "exec")


def test_boot_unit_runs_the_entry_point_once_with_the_state_dir():
    unit = restore.unit_text("/var/lib/swarmnet")
    assert "ExecStart=%s /var/lib/swarmnet" % restore.ENTRY_POINT in unit
    assert "Type=oneshot" in unit and "RemainAfterExit=yes" in unit
    assert "WantedBy=multi-user.target" in unit
