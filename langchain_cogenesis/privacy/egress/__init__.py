"""Egress and audit: the one door to the cloud.

``decision`` chooses what may leave (:func:`decide`, the policy words); ``door`` acts
on each choice (audit, public record, errors, route); ``guard`` is the only object
holding a cloud client, with ``completions`` and ``retries`` beside it; ``gate``
closes a fused decode to the cloud at the first private token; ``audit`` is the
tamper-evident log of every decision.
"""
