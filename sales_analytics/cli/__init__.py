"""The `sales-analytics` command (cli/main.py) and its subcommands: run, daily, dev, dashboard,
bench. The same on every platform; the Makefile only calls it."""
