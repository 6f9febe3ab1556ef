"""One module per subcommand; the CLI module only parses arguments and delegates here."""
