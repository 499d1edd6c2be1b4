"""One module per command: Complete -> Validate -> Run, returning an exit code."""
