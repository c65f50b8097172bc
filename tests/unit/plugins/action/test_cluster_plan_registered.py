"""The plan takes a host's registered live read as stored, and templates any other value, with real hostvars."""

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import trust_as_template
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.swarmnet.overlay.plugins.action.cluster_plan import registered


def hostvars_with(**variables):
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources="h1,")
    variable_manager = VariableManager(loader=loader, inventory=inventory)
    variable_manager.set_nonpersistent_facts("h1", variables)      # as `register` stores a result
    return HostVars(inventory=inventory, variable_manager=variable_manager, loader=loader)


def test_a_registered_result_is_what_templating_it_gives():
    read = {"changed": False, "networks": [{"name": "front", "vni": 4097, "peers": ["10.0.0.2"]}], "failed": False}
    hostvars = hostvars_with(swarmnet_live=read)
    assert registered(hostvars, "h1", "swarmnet_live") == hostvars["h1"]["swarmnet_live"] == read


def test_a_template_is_still_templated():
    hostvars = hostvars_with(swarmnet_live=trust_as_template("{{ {'networks': [], 'vni': 4000 + 97} }}"))
    assert registered(hostvars, "h1", "swarmnet_live") == {"networks": [], "vni": 4097}


def test_a_variable_never_set_is_none():
    assert registered(hostvars_with(), "h1", "swarmnet_live") is None
