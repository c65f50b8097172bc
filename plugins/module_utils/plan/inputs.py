# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of the collection's variables: every key known, at every depth, of the right type.

The shapes are the plan role's argument spec (roles/plan/meta/argument_specs.yml): one declaration
documents the keys and checks them. Ansible's own check of it names neither the list index, nor
the value, nor the key that was meant; this one does (`data_prot` -> did you mean `data_port`?), and
the plan runs it before anything else, so no value check ever sees a misshapen variable.

Pure Python. Understands the parts of an argument spec the plan role uses: type (str, int, float,
bool, list, dict, raw), elements, options and choices. `options` under `elements: raw` names the
keys of the mapping form of an element that may also be a plain name (a network, or
{network, ip}).
"""

from __future__ import annotations

import difflib

# The variables checked here, each read from the cluster (the play's first host) or from each host.
CLUSTER_VARIABLES = ("swarmnet_ingress", "swarmnet_networks", "swarmnet_services", "swarmnet_dns")
HOST_VARIABLES = ("swarmnet_sandboxes",)

_TYPE_WORDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
               "list": "a list", "dict": "a mapping"}


def _whole(value):
    """Templates and `-e` give numbers as strings of digits; the value checks take them too."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit())


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


_KINDS = {"raw": lambda v: True, "str": lambda v: isinstance(v, str), "int": _whole, "float": _number,
          "bool": lambda v: isinstance(v, bool), "list": lambda v: isinstance(v, list),
          "dict": lambda v: isinstance(v, dict)}


def unknown_key(key, known):
    """Why a key is refused: the nearest known one when one is close, and every known one."""
    near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = "; did you mean %r?" % near[0] if near else ""
    return "unknown key%s (known: %s)" % (hint, ", ".join(sorted(known)))


def _check_mapping(options, value, key, add):
    for name in sorted(value, key=str):
        if name not in options:
            add(key + "." + str(name), value[name], unknown_key(name, list(options)))
    for name, spec in options.items():
        if name in value and value[name] is not None:
            check(spec, value[name], key + "." + name, add)
        elif spec.get("required"):
            add(key + "." + name, None, "required")


def check(spec, value, key, add):
    """Check `value` against one option of an argument spec; add(key, value, why) for each problem."""
    kind = spec.get("type", "str")
    if kind == "list" and isinstance(value, str) and spec.get("elements") == "str":
        value = [value]     # a single name where a list of names is expected, as Ansible takes it
    if not _KINDS[kind](value):
        add(key, value, "must be %s" % _TYPE_WORDS[kind])
    elif kind == "list":
        for i, item in enumerate(value):
            _check_element(spec, item, "%s[%d]" % (key, i), add)
    elif "choices" in spec and value not in spec["choices"]:
        add(key, value, "must be one of %s" % ", ".join(str(c) for c in spec["choices"]))
    elif kind == "dict" and "options" in spec:
        _check_mapping(spec["options"], value, key, add)


def _check_element(spec, item, key, add):
    """One element of a list option: its `elements` type, `choices` and `options` apply to it."""
    elements = spec.get("elements", "raw")
    if item is None:
        add(key, item, "must be %s" % _TYPE_WORDS.get(elements, "given"))
    elif elements == "raw" and "options" in spec:     # a name, or the mapping form of the element
        if isinstance(item, dict):
            _check_mapping(spec["options"], item, key, add)
        elif not isinstance(item, str):
            add(key, item, "must be a name or a mapping with keys %s" % ", ".join(spec["options"]))
    else:
        check(dict({k: v for k, v in spec.items() if k in ("choices", "options")}, type=elements), item, key, add)


def check_variables(specs, cluster, hosts, source, add):
    """cluster: {variable: value} as the play's first host (`source`) has them; hosts: {host: {variable:
    value}}. add(host, key, value, why) for each problem. A variable left out or None is not checked."""
    for variable in CLUSTER_VARIABLES:
        if cluster.get(variable):     # {} or [] is none (swarmnet_ingress: {} declares no ingress)
            check(specs[variable], cluster[variable], variable, lambda k, v, why: add(source, k, v, why))
    for host in sorted(hosts):
        for variable in HOST_VARIABLES:
            value = (hosts[host] or {}).get(variable)
            if value is not None:
                check(specs[variable], value, variable,
                      lambda k, v, why, host=host: add(host, k, v, why))
