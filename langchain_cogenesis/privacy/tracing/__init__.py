"""Tracing: what a tracer may see of a private run.

``privately_traced`` wraps graphs, chat models and tools so that every run is traced
through the scrubber that ``private`` sets up (``scrubbing``), which shows public text
as it is and private text as a keyed digest (``trace_view``). ``_langchain_internals``
is the one wall around the private LangChain names this relies on.
"""
