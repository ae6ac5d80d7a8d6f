"""The shared dataset of read-only tests (tests/support/graph.SharedGraph) cannot leak writes."""

import pytest

from tests.support.graph import SharedGraph, cypher


def test_it_builds_a_dataset_once_and_again_only_after_the_graph_changed(ingest):
    shared, builds = SharedGraph(), []

    def build():
        builds.append(1)
        assert ingest.start("e1", "plan-a", 1, 1_700_000_000_000).status_code == 201

    shared.use("one", build)
    shared.use("one", build)
    assert len(builds) == 1
    shared.forget()  # what the `graph` fixture does before a test of its own
    shared.use("one", build)
    assert len(builds) == 2
    assert cypher("MATCH (e:OrchestrationExecution) RETURN count(e)") == [[1]]


def test_it_fails_a_test_that_wrote_to_the_shared_dataset_and_rebuilds_it_next(ingest):
    shared, builds = SharedGraph(), []
    shared.use("one", lambda: builds.append(ingest.start("e1", "plan-a", 2, 1_700_000_000_000)))
    shared.check_untouched()  # reading it is fine
    assert ingest.task("e1", "t1", {"status": "success"}).status_code == 201
    with pytest.raises(AssertionError, match="wrote to the shared dataset 'one'"):
        shared.check_untouched()
    shared.use("one", lambda: builds.append(ingest.start("e1", "plan-a", 2, 1_700_000_000_000)))
    assert len(builds) == 2
