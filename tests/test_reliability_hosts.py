"""Two app hosts, one Neo4j: bench/load_faults.py with --hosts 2 on a small workload. Each client
sends to its own host and its replays to the other one, and Neo4j is stopped and restarted in the
middle; every execution's counters must still equal the clients' logs (group commit is per
process, so only Neo4j's locks keep the two hosts from counting anything twice)."""

import re

import pytest

from bench import load_faults
from scripts.neo4j_server import port_in_use
from tests.support.servers import free_port

pytestmark = pytest.mark.slow  # a Neo4j of its own, stopped and started again, and two gunicorns


def _two_free_ports() -> int:
    while True:
        port = free_port()
        if not port_in_use(port + 1):
            return port


def test_it_counts_nothing_twice_with_replays_across_two_hosts_through_a_neo4j_restart(capsys):
    app_port = _two_free_ports()
    code = load_faults.main([
        "--hosts", "2", "--executions", "6", "--tasks", "12", "--clients", "6", "--replay-rate", "0.2",
        "--kill-neo4j-at", "0.4", "--down-seconds", "3", "--max-seconds", "600",
        "--neo4j-port", str(free_port()), "--app-port", str(app_port), "--run-name", f"test-hosts-{app_port}",
    ])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "counter/FAILED_TASK mismatches: 0; log problems: 0; unexpected 5xx/connection errors: 0" in out, out
    # Both hosts took requests, and replays really went to the other host.
    per_host = re.search(r"per host \(access log\): http://127\.0\.0\.1:\d+ (\d+), http://127\.0\.0\.1:\d+ (\d+); "
                         r"replays sent to another host than their originals: (\d+)", out)
    assert per_host, out
    assert all(int(n) > 0 for n in per_host.groups()), out
    # Every host answered 503 (not another 5xx) while Neo4j was down.
    assert re.search(r"ingest 503s during it: [1-9]\d*", out), out
