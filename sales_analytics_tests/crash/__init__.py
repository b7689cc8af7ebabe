"""Scaffolding of the crash tests: ways to stop a real run at a chosen point so a test can kill
it there. Nothing here ships in the package or in the dbt project."""
