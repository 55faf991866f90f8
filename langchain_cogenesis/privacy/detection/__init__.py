"""Detection: what is private in a text.

The :class:`~langchain_cogenesis.privacy.detection.scanner.PrivacyScanner` runs the
detectors of one user and request: the store's n-grams and rare tokens
(``detectors``); typed-in facts (``entities`` with its ``recognizers``, ``ner_engine``,
``entity_rules``, ``lexicons`` and the learned ``tagger``); stored facts in other
words (``paraphrase``); and the splitter that cuts a one-part instruction into its
public and private parts.
"""
