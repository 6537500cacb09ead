"""The ``hpsearch`` command line: ``hpsearch.cli.main`` parses the arguments and
runs the subcommands.
"""
