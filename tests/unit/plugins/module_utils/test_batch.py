"""Batch: many objects in one module run, each reported on its own (pure logic, a stand-in module)."""

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch, validated


class Ended(Exception):
    pass


class StandIn:
    """Records how AnsibleModule would have ended the run."""

    _verbosity = 0
    params = {"state_dir": "/var/lib/swarmnet", "tasks": []}

    def __init__(self):
        self.ended = None

    def exit_json(self, **result):
        self.ended = dict(result, failed=False)
        raise Ended()

    def fail_json(self, **result):
        self.ended = dict(result, failed=True)
        raise Ended()


def reconcile_to(after, change=None, error=None):
    def reconcile(changes):
        if change:
            changes(change, lambda: None)
        if error:
            raise ValueError(error)
        return "old\n", after, {"pid": 7}
    return reconcile


def ended(batch, **extra):
    module = StandIn()
    with pytest.raises(Ended):
        batch.exit(module, **extra)
    return module.ended


def test_each_item_reported_on_its_own_with_a_diff_only_where_it_changed():
    batch = Batch(False, (ValueError,))
    batch.run("task a", reconcile_to("new\n", change="restart a"))
    batch.run("task b", reconcile_to("old\n"))
    result = ended(batch, supervisor="swarmnet")
    assert result["changed"] and not result["failed"] and result["supervisor"] == "swarmnet"
    assert result["actions"] == ["task a: restart a"]
    assert [(r["name"], r["changed"], r["pid"]) for r in result["results"]] == [("task a", True, 7), ("task b", False, 7)]
    assert result["diff"] == [{"before_header": "task a", "after_header": "task a", "before": "old\n", "after": "new\n"}]
    assert result["invocation"] == {"module_args": {"state_dir": "/var/lib/swarmnet"}}     # no lists below -vvv


def test_a_failing_item_does_not_stop_the_others_and_fails_the_run_naming_it():
    batch = Batch(False, (ValueError,))
    batch.run("task a", reconcile_to("new\n", change="start a", error="no such namespace"))
    batch.run("task b", reconcile_to("new\n", change="start b"))
    result = ended(batch)
    assert result["failed"] and result["msg"] == "task a: no such namespace"
    assert result["actions"] == ["task a: start a", "task b: start b"]      # what was done before it failed
    assert [r.get("failed", False) for r in result["results"]] == [True, False]


def test_errors_it_was_not_told_about_are_not_swallowed():
    batch = Batch(False, (ValueError,))
    with pytest.raises(KeyError):
        batch.run("task a", lambda changes: {}["missing"])


def test_check_mode_describes_without_doing():
    done = []
    batch = Batch(True, (ValueError,))
    batch.run("task a", lambda changes: (changes("start a", done.append, 1), ("", "x", {}))[1])
    assert done == [] and batch.changed and batch.actions == ["task a: start a"]


def test_validated_checks_a_list_item_as_the_module_would_and_names_it():
    spec = {"services": {"type": "list", "elements": "dict", "default": [], "options": {
        "port": {"type": "int", "required": True}, "protocol": {"type": "str", "default": "tcp"}}}}
    assert validated(StandIn(), spec, {"services": [{"port": "80"}]}, "sandboxes[0] (web.1)") == \
        {"services": [{"port": 80, "protocol": "tcp"}]}
    module = StandIn()
    with pytest.raises(Ended):
        validated(module, spec, {"services": [{"port": 80, "colour": "blue"}]}, "sandboxes[1] (web.2)")
    assert module.ended["failed"] and module.ended["msg"].startswith("sandboxes[1] (web.2): services.colour")
