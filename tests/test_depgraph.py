"""The graph card's data (executions/depgraph.py) on hand-built plans: live statuses, the collapse
past the node limit (by parallel group, or by dependency depth when groups are many), and the
markup it writes escapes every text."""

from executions import depgraph


def chain_plan(n: int, group) -> list[dict]:
    """t0 ← t1 ← ... : each task depends on the one before, in parallel group group(i)."""
    return [{"id": f"t{i}", "title": f"T{i}", "parallelGroup": group(i),
             "dependencies": [f"t{i - 1}"] if i else []} for i in range(n)]


def test_it_infers_running_and_pending_from_dependencies():
    statuses = depgraph.live_statuses(
        ids=["a", "b", "c", "d"], deps={"a": [], "b": ["a"], "c": ["b"], "d": ["a"]},
        reported={"a": {"status": "success", "attemptCount": 2}, "d": {"status": "success", "qcPassed": False}},
        running=True)
    assert statuses == {"a": "retried", "b": "running", "c": "pending", "d": "qc-failed"}
    # Once the execution has finished, nothing unreported is running.
    assert depgraph.live_statuses(ids=["a", "b"], deps={"a": [], "b": ["a"]}, reported={}, running=False) == \
        {"a": "pending", "b": "pending"}


def test_it_collapses_by_dependency_depth_when_parallel_groups_are_many():
    plan = [*chain_plan(50, lambda i: i), *({"id": f"x{i}", "parallelGroup": 1000 + i} for i in range(300))]
    graph = depgraph.build(plan_tasks=plan, tasks=[], execution={"status": "running", "startTime": 0},
                           url_of=lambda t: None)
    assert graph["mode"] == "groups" and graph["by_depth"]
    assert [g["group"] for g in graph["nodes"]] == [f"depth-{d}" for d in range(50)]
    # depth 0 holds t0 and the 300 tasks with no dependency, all running
    assert graph["nodes"][0]["tasks"] == 301 and graph["nodes"][0]["counts"] == [
        {"status": "running", "label": "running", "n": 301}]
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(f"depth-{d}", f"depth-{d + 1}") for d in range(49)}


def test_it_collapses_by_parallel_group_when_they_are_few():
    graph = depgraph.build(plan_tasks=chain_plan(320, lambda i: i // 80), tasks=[], execution=None,
                           url_of=lambda t: None)
    assert graph["mode"] == "groups" and not graph["by_depth"]
    assert [g["group"] for g in graph["nodes"]] == ["g0", "g1", "g2", "g3"]


def test_it_escapes_every_text_in_the_nodes_markup():
    plan = [{"id": "a\"<&>'", "title": "<img src=x onerror=alert(1)>", "parallelGroup": "<g>"},
            {"id": "b", "title": "ok", "dependencies": ["a\"<&>'"]}]
    tasks = [{"taskId": "a\"<&>'", "status": "failure", "timestamp": 10, "durationMs": 5}]
    graph = depgraph.build(plan_tasks=plan, tasks=tasks, execution={"status": "running", "startTime": 0},
                           url_of=lambda t: "/x?a=1&b=\"2\"")
    markup = str(graph["nodes_svg"]) + str(graph["edges_svg"])
    assert "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert 'data-task-id="a&quot;&lt;&amp;&gt;&#x27;"' in markup and 'data-from="a&quot;&lt;&amp;&gt;&#x27;"' in markup
    assert 'href="/x?a=1&amp;b=&quot;2&quot;"' in markup and "g&lt;g&gt;" in markup
