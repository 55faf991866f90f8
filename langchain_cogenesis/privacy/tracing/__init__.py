"""Tracing: what a tracer may see of a private run.

``private`` wraps graphs and chat models so that every run is traced through the
scrubber (``scrubbing``), which shows public text as it is and private text as a keyed
digest (``trace_view``); ``_langchain_internals`` is the one wall around the private
LangChain names this relies on.
"""
