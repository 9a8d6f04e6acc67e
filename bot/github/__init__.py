"""The GitHub edge: the gateway, cached reads, publishing, the Actions front end."""
