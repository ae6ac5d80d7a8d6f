"""What tests share besides fixtures (those stay in conftest.py): clients, data builders, the clock.

- `api.Ingest`: the ingest API over real HTTP through Django's full stack, with a bearer token.
- `graph.cypher`: a Cypher statement on the test Neo4j, for asserting on what was stored.
- `pages`, `failure_report`: realistic data for the pages and the failure report, posted through
  the ingest API.
- `alerts`: one run of the alert worker, and docs/alerts.md's receiver recipe as a function.
- `clock.FrozenClock`: the app's clock (executions.clock), stopped, moved by the test.

Nothing here imports from bench/: tests and benchmarks share only what lives in scripts/.
"""
