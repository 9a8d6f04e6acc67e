"""The command line: parses arguments and calls the edges below it."""
