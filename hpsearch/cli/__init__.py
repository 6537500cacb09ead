"""The ``hpsearch`` command line, a thin skin over the API: ``main`` runs a command,
``parser`` declares the arguments, ``commands`` call the API, ``output`` prints what
it returns, ``errors`` maps each error to an exit code and one line, and ``lr_find``
is the learning-rate range test's command.
"""
