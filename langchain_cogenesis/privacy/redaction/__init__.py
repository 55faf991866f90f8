"""Redaction and restoration: typed placeholders out, private values back in.

``placeholders`` replaces private spans with typed placeholders and restores them in
text, whole or streamed; ``restoration`` does the same for LangChain messages and
tool-call arguments, and remembers what a conversation restored.
"""
