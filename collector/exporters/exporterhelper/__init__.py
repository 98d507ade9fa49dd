"""Shared machinery of the OTLP exporters: retry, sending queue (memory and persistent), TLS.

Not a component itself (no `factory`): the registry skips it.
"""
