"""Hand-maintained override files and the patterns they select models with.

    files      where the override files are, their strict models, loading and validation
    patterns   user-written regular expressions compiled with RE2 (linear time)

In: the overrides directory (``--overrides``, config, or the packaged defaults). Out: typed
override sets that the capability, alias, lifecycle and ranking stages apply.
"""
