"""Encrypted overlays, pure parts: keyring checks that never show keys, keys and SPIs per pair,
the guard table, the MTU, the rotation steps, the plan's encryption errors, and the ESP probe's
command as the plan role runs it."""

import pathlib

import pytest
import yaml

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import xfrm
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp, plan
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan.plan import PlanError

K1 = "00112233445566778899aabbccddeeff01020304"
K2 = "ffeeddccbbaa99887766554433221100a0b0c0d0"
RING = {"primary": 1, "keys": [{"tag": 1, "key": K1}, {"tag": 2, "key": K2}]}
A, B, C = "198.19.0.11", "198.19.0.12", "198.19.0.13"


def test_keyring_parsed():
    keys, primary, errors = esp.parse_keyring(RING)
    assert errors == [] and primary == 1 and keys == {1: bytes.fromhex(K1), 2: bytes.fromhex(K2)}


@pytest.mark.parametrize("keyring,where,why", [
    ("secret", "", "must be a mapping"),
    ({"primary": 1, "keys": []}, ".keys", "one to 3 keys"),
    ({"primary": 1, "keys": [{"tag": 1, "key": K1[:-2]}]}, ".keys[0].key", "must be 40 or 72 hex digits"),
    ({"primary": 1, "keys": [{"tag": 1, "key": "zz" + K1[2:]}]}, ".keys[0].key", "must be 40 or 72 hex digits"),
    ({"primary": 1, "keys": [{"tag": 0, "key": K1}]}, ".keys[0].tag", "integer from 1 to 65535"),
    ({"primary": 1, "keys": [{"tag": 1, "key": K1}, {"tag": 1, "key": K2}]}, ".keys[1].tag", "used twice"),
    ({"primary": 3, "keys": [{"tag": 1, "key": K1}]}, ".primary", "tag of a key in the ring"),
    ({"primary": 1, "keys": [{"tag": t, "key": K1} for t in (1, 2, 3, 4)]}, ".keys", "at most 3"),
])
def test_bad_keyring_is_refused_without_showing_the_key(keyring, where, why):
    _keys, _primary, errors = esp.parse_keyring(keyring)
    assert errors and errors[0][0] == where and why in errors[0][2]
    text = repr(errors)
    assert K1 not in text and K1[:-2] not in text and K2 not in text


def test_keys_and_spis_per_pair_and_direction():
    key = bytes.fromhex(K1)
    assert esp.sa_key(key, A, B, 1) == esp.sa_key(key, A, B, 1)         # both ends derive the same
    derived = {esp.sa_key(key, s, d, t) for s, d in ((A, B), (B, A), (A, C)) for t in (1, 2)}
    assert len(derived) == 6 and all(len(k) == 20 for k in derived)     # no two SAs share a key
    spis = {esp.spi(key, s, d, t) for s, d in ((A, B), (B, A), (A, C)) for t in (1, 2)}
    assert len(spis) == 6 and min(spis) >= 256
    assert esp.spi(key, A, B, 1) != esp.spi(bytes.fromhex(K2), A, B, 1)  # a new key under a tag: new SAs


def test_wanted_sas_for_every_key_policy_for_the_primary():
    keys, primary, _errors = esp.parse_keyring(RING)
    states, policies = esp.wanted(A, [B, C, A], keys, primary)
    assert len(states) == 2 * 2 * 2          # peers x keys x directions, never to itself
    assert {(s["src"], s["dst"]) for s in states} == {(A, B), (B, A), (A, C), (C, A)}
    assert policies == [{"src": A, "dst": p, "spi": esp.spi(keys[1], A, p, 1)} for p in (B, C)]
    # what A sends with is what B accepts under the same key
    b_states, _policies = esp.wanted(B, [A], keys, primary)
    assert {(s["src"], s["dst"], s["spi"]) for s in states if s["dst"] == B} <= \
        {(s["src"], s["dst"], s["spi"]) for s in b_states}


def test_guard_table_per_network_port_and_vni():
    assert esp.render([]) is None
    text = esp.render([{"vni": 4098, "data_port": 4790}, {"vni": 4097, "data_port": 4789}])
    assert text.index("udp dport 4789 @th,96,24 4097") < text.index("udp dport 4790 @th,96,24 4098")
    assert text.count("rt ipsec missing") == 2 and text.count("meta ipsec missing") == 2
    assert "meta mark set meta mark & 0x0000ffff | 0x53570000" in text


@pytest.mark.parametrize("vxlan_mtu,expected", [(1450, 1416), (1449, 1412), (1400, 1364)])
def test_mtu_fits_one_esp_datagram(vxlan_mtu, expected):
    inner = esp.mtu(vxlan_mtu)
    assert inner == expected
    # outer IP datagram: IP 20 + ESP 16 + (UDP 8 + VXLAN 8 + Ethernet 14 + inner), padded to 4 with
    # the 2-byte trailer, + ICV 16; it must fit the underlay (vxlan_mtu + 50)
    payload = 30 + inner + 2
    assert 20 + 16 + payload + (-payload % 4) + 16 <= vxlan_mtu + 50


def test_rotation_installs_switches_retires():
    new = "ab" * 20
    install, switch, retire = esp.rotation({"primary": 1, "keys": [{"tag": 1, "key": K1}]}, new)
    assert install == {"primary": 1, "keys": [{"tag": 1, "key": K1}, {"tag": 2, "key": new}]}
    assert switch == {"primary": 2, "keys": install["keys"]}
    assert retire == {"primary": 2, "keys": [{"tag": 2, "key": new}]}
    full = {"primary": 2, "keys": [{"tag": t, "key": K1} for t in (1, 2, 3)]}
    install, _switch, _retire = esp.rotation(full, new)
    assert [k["tag"] for k in install["keys"]] == [2, 3, 4]     # the oldest non-primary made room
    with pytest.raises(ValueError) as exc:
        esp.rotation(RING, "0123456789")
    assert "0123456789" not in str(exc.value) and "hex digits" in str(exc.value)


NETS = [{"name": "ingress", "ingress": True, "subnet": "10.255.0.0/16"},
        {"name": "secret", "subnet": "10.10.1.0/24", "encrypted": True, "data_port": 4790},
        {"name": "plain", "subnet": "10.10.2.0/24"}]
HOSTS = {"h1": {"advertise_addr": A, "sandboxes": [{"name": "a", "networks": ["secret", "plain"]}]},
         "h2": {"advertise_addr": B, "sandboxes": [{"name": "b", "networks": ["secret"]}]},
         "h3": {"advertise_addr": C, "sandboxes": [{"name": "c", "networks": ["plain"]}]}}


def test_plan_encrypts_only_pairs_that_share_an_encrypted_network():
    result = plan.build(NETS, HOSTS, keyring=RING)["hosts"]
    assert result["h1"]["encryption"] == {"networks": [{"name": "secret", "vni": 4098, "data_port": 4790}],
                                          "peers": [B]}
    assert result["h3"]["encryption"] == {"networks": [], "peers": []}
    assert result["h1"]["firewall"]["esp"] and not result["h3"]["firewall"]["esp"]
    mtus = {n["name"]: n["mtu"] for n in result["h1"]["networks"]}
    assert mtus == {"ingress": 1450, "secret": 1416, "plain": 1450}
    assert K1 not in repr(result)


def _errors(**kwargs):
    with pytest.raises(PlanError) as exc:
        plan.build(kwargs.pop("networks", NETS), HOSTS, source="h1", **kwargs)
    return exc.value.errors


def test_plan_refuses_encryption_where_a_kernel_has_no_esp():
    assert _errors(keyring=RING, reported={"h2": {"esp": False}}) == [
        "host h2: swarmnet_networks[1].encrypted=True: network 'secret' is encrypted but this host's "
        "kernel has no ESP transform (CONFIG_INET_ESP) for IPsec"]
    plan.build(NETS, HOSTS, {"h3": {"esp": False}}, keyring=RING)     # h3 is on no encrypted network


def test_plan_refuses_a_bad_or_missing_keyring_naming_it_not_showing_it():
    bad = {"primary": 1, "keys": [{"tag": 1, "key": K1[:-1]}]}
    assert _errors(keyring=bad) == ["host h1: swarmnet_encryption_keyring.keys[0].key=<39 characters, "
                                    "redacted>: must be 40 or 72 hex digits (AES key + 4-byte salt: 40 "
                                    "for AES-128, 72 for AES-256)"]
    assert "needs a keyring" in _errors()[0] or "need a keyring" in _errors()[0]
    plan.build(NETS, HOSTS, keyring=None, keyring_required=False)     # the validating pass
    assert _errors(networks=[NETS[0], dict(NETS[1], encrypted="yes"), NETS[2]], keyring=RING)[0] == \
        "host h1: swarmnet_networks[1].encrypted='yes': must be true or false"


def test_the_plan_role_probes_esp_as_kernel_features_does():
    """The plan role runs kernel_features' probe as raw (no module run in every converge): the same command."""
    role_vars = pathlib.Path(__file__).parents[4] / "roles" / "plan" / "vars" / "main.yml"
    assert yaml.safe_load(role_vars.read_text())["swarmnet_esp_probe_command"] == xfrm._PROBE
