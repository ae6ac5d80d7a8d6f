"""Demo material for the simulator (`manage.py simulate`): our own example plans and the scripting
that turns them into realistic executions. Nothing here is used by the dashboard itself."""
