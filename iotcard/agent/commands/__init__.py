"""One module per ``iotcard`` subcommand family; see :mod:`iotcard.agent.cli` for the contract."""
