"""What a module that takes a host's lists echoes of its arguments (pure logic, a stand-in module)."""

from types import SimpleNamespace

from ansible_collections.swarmnet.overlay.plugins.module_utils import invocation

PARAMS = {"state_dir": "/var/lib/swarmnet", "backend": "auto", "wait": 5, "dns": None,
          "tasks": [{"name": "web.1"}], "registry": {"services": []}}


def test_below_vvv_only_the_scalar_arguments_are_echoed():
    for verbosity in (0, 1, 2):
        module = SimpleNamespace(_verbosity=verbosity, params=PARAMS)
        assert invocation.exit_kwargs(module) == {"invocation": {"module_args": {
            "state_dir": "/var/lib/swarmnet", "backend": "auto", "wait": 5, "dns": None}}}


def test_from_vvv_every_argument_is_echoed_as_ansible_does():
    for verbosity in (3, 4):
        assert invocation.exit_kwargs(SimpleNamespace(_verbosity=verbosity, params=PARAMS)) == {}
