"""``python -m langchain_cogenesis.cli``."""

import sys

from langchain_cogenesis.cli import main

sys.exit(main())
