"""Applications over the library: the command line and the playground (thin layers)."""
