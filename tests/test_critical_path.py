"""The critical path on hand-built DAGs: which chain set the run's duration, and how long each task
waited on its slowest dependency (executions/critical_path.py; pure, no Neo4j needed)."""

from executions.critical_path import Span, Wait, critical_path


def test_it_follows_the_slower_branch_of_a_diamond():
    #   a → b → d, a → c → d; c ends after b, so d waited on c.
    spans = {"a": Span(0, 10), "b": Span(10, 20), "c": Span(10, 50), "d": Span(50, 60)}
    deps = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    path = critical_path(spans=spans, dependencies=deps, run_start=0)
    assert path.chain == ["a", "c", "d"]
    # d was otherwise ready when b ended (20): it waited 30 on c alone.
    assert path.waits["d"] == Wait(on="c", ms=30)
    assert path.waits["b"] == Wait(on="a", ms=10) and path.waits["c"] == Wait(on="a", ms=10)
    assert "a" not in path.waits


def test_it_takes_the_branch_that_ended_last_of_a_fan_out():
    spans = {"root": Span(5, 20), "x": Span(20, 30), "y": Span(21, 90), "z": Span(22, 40)}
    deps = {"x": ["root"], "y": ["root"], "z": ["root"]}
    path = critical_path(spans=spans, dependencies=deps, run_start=0)
    assert path.chain == ["root", "y"]
    assert {t: w.on for t, w in path.waits.items()} == {"x": "root", "y": "root", "z": "root"}
    assert path.waits["y"].ms == 20  # from the run's start to root's end


def test_it_is_the_task_alone_when_one_without_dependencies_runs_last():
    spans = {"a": Span(0, 10), "b": Span(10, 30), "late": Span(40, 100)}
    path = critical_path(spans=spans, dependencies={"b": ["a"]}, run_start=0)
    assert path.chain == ["late"]
    assert path.waits == {"b": Wait(on="a", ms=10)}


def test_it_ignores_dependencies_not_reported_yet_and_ends_on_a_declared_cycle():
    spans = {"a": Span(0, 10), "b": Span(10, 20)}
    path = critical_path(spans=spans, dependencies={"b": ["a", "missing"], "a": ["b"]}, run_start=None)
    # a "depends" on b (a cycle in a bad plan): the walk stops instead of looping.
    assert path.chain == ["a", "b"]
    assert path.waits["b"] == Wait(on="a", ms=10)  # no run start: from the first task's start


def test_it_breaks_ties_by_task_id_and_has_no_path_without_tasks():
    assert critical_path(spans={"p": Span(0, 5), "q": Span(0, 5)}, dependencies={}).chain == ["q"]
    assert critical_path(spans={}, dependencies={"a": ["b"]}).chain == []
