"""Derived: what a run computes from one input once, and anew when the input or its extra key differs."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.derived import Derived


def counting():
    calls = []

    def compute(value):
        calls.append(value)
        return [value]
    return calls, compute


def test_the_same_list_with_equal_facts_is_computed_once():
    derived, services = Derived(), [{"fwmark": 256}]
    calls, compute = counting()
    first = derived.get("masked", services, lambda: compute(1), {"h2": "alive"})
    again = derived.get("masked", services, lambda: compute(2), {"h2": "alive"})     # equal, not the same dict
    assert first is again and calls == [1]


def test_other_facts_another_list_or_another_kind_compute_anew():
    derived, services = Derived(), [{"fwmark": 256}]
    calls, compute = counting()
    derived.get("masked", services, lambda: compute(1), {"h2": "alive"})
    assert derived.get("masked", services, lambda: compute(2), {"h2": "failed"}) == [2]    # facts read anew differ
    assert derived.get("masked", [{"fwmark": 256}], lambda: compute(3), {"h2": "failed"}) == [3]   # equal, not the same
    assert derived.get("normalised", services, lambda: compute(4), {"h2": "failed"}) == [4]
    assert derived.get("masked", services, lambda: compute(5), {"h2": "failed"}) == [2]     # the latest is kept
    assert calls == [1, 2, 3, 4]


def test_an_input_is_held_so_its_identity_is_not_reused():
    derived = Derived()
    calls, compute = counting()
    for i in range(50):
        derived.get("summary", [i], lambda i=i: compute(i))     # each list dropped by the caller at once
    assert calls == list(range(50))
