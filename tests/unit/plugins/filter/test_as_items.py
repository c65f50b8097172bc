"""as_items: what leaves a host goes to one module run as list items."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmnet.overlay.plugins.filter.items import as_items


def test_names_become_one_key_mappings_in_order():
    assert as_items(["web.3", "web.2"], "name") == [{"name": "web.3"}, {"name": "web.2"}]
    assert as_items([], "sandbox") == []


def test_anything_but_a_list_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects a list of names"):
        as_items("web.3", "name")
