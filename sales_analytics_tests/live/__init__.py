"""Tests through Dagster's real machinery: `dagster dev` (or the webserver and the daemon as
separate processes) on a free 127.0.0.1 port, a temporary DAGSTER_HOME and warehouse, no venv on
PATH, driven through the GraphQL API the UI uses.

    with dagster_dev(tmp_path) as servers:          # servers.py; or webserver_and_daemon(...)
        client = servers.client                     # graphql.py
        days = client.partition_keys("raw/transactions")[-3:]
        backfill, runs = client.wait_for_backfill(
            client.launch_backfill(partition_names=days), timeout=600)  # "Materialize all"
        events = client.run_events(runs[0].run_id)  # materializations, check evaluations

The module fixture `dagster_dev_servers` (conftest.py) shares one server across a module.
"""
