"""The demo's proof reads at a glance: a table of pings, a table of requests, one summary line."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmnet.overlay.plugins.filter.proof import proof_report

VTEPS = {"198.18.0.11": "h1", "198.18.0.12": "h2"}


def host(matrix, vip=(), port=None):
    return {"matrix": matrix, "vtep_hosts": VTEPS, "vip": list(vip), "port": port}


def test_pings_and_requests_in_tables_and_one_summary_line():
    report = proof_report({
        "h1": host(["h1/task-a (10.10.1.2) -> 10.10.1.3 on 198.18.0.12 over frontend: ok"],
                   [{"origin": "h1/task-a", "counts": {"10.10.1.5": 15, "10.10.1.6": 15, "failed": 0}}],
                   {"10.255.0.5": 30, "failed": 0}),
        "h2": host(["h2/task-b (10.10.1.3) -> 10.10.1.2 on 198.18.0.11 over frontend: ok"],
                   [{"origin": "h2/task-b", "counts": {"10.10.1.5": 30, "failed": 0}}], {"10.255.0.6": 30}),
    })
    lines = report.splitlines()
    assert lines[0].split() == ["host/sandbox", "network", "to", "over", "result"]
    assert lines[2].split() == ["h1/task-a", "frontend", "10.10.1.3", "h2", "ok"]
    assert lines[3].split() == ["h2/task-b", "frontend", "10.10.1.2", "h1", "ok"]
    assert "h1/task-a  web VIP" in report and "0/30" in report and "10.10.1.5 x15, 10.10.1.6 x15" in report
    assert lines[-1] == "2/2 pings ok · web VIP 30/30 from every task sandbox · published 8080 30/30 on every host"


def test_failures_are_counted_and_named():
    report = proof_report({
        "h1": host(["h1/task-a (10.10.1.2) -> 10.10.1.3 on 198.18.0.12 over frontend: FAILED",
                    "h1/task-a (10.10.2.2) -> 10.10.2.3 on 198.18.0.12 over backend: ok"],
                   [{"origin": "h1/task-a", "counts": {"10.10.1.5": 28, "failed": 2}}], {"10.255.0.5": 30, "failed": 0}),
        "h2": host([], [{"origin": "h2/task-b", "counts": {"10.10.1.5": 30, "failed": 0}}], {"failed": 30}),
    })
    assert report.splitlines()[-1] == ("1/2 pings ok · web VIP h1/task-a 28/30, h2/task-b 30/30 · "
                                       "published 8080 h1 30/30, h2 0/30")
    assert "FAILED" in report


def test_a_line_not_from_the_ping_matrix_is_an_error():
    with pytest.raises(AnsibleFilterError, match="not a line of ping_matrix.yml"):
        proof_report({"h1": host(["something else"])})
