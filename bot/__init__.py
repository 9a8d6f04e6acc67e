"""challenge-bot: keeps a knowledge base of LLM pretraining case studies well-formed.

The core (parse, lint, plan a review, render the index) is pure; I/O happens
only in the CLI, the webhook service and the GitHub gateway.
"""

__version__ = "0.1.0"
