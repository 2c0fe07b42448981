"""What the process writes about itself, and what it must never write.

formatters   JSON lines for machines, short lines for a terminal; ``configure``
redact       secrets read from the environment, scrubbed from every output channel
"""
