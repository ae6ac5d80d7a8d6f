"""Alerts: rules on what the graph knows, an outbox of alert events in SQL, and their delivery.

Its own app (own tables and migrations) rather than part of `executions`: `executions` is the
graph of record and its ingest; this app only reads the graph (executions/cypher/alerts/), in a
worker of its own (`manage.py deliver_alerts`), so ingest pays nothing for it.
"""
