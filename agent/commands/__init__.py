"""One module per ``iotcard`` subcommand family; see :mod:`agent.cli` for the contract."""
