"""What each ``wavegen`` command does, as library functions the CLI calls after parsing its options.

This layer sits above the pipelines (enhance, vocode, sample, evaluate) and the
dataset readers: it loads checkpoints through :mod:`wavegen.models`, checks that
a checkpoint offers the capability the command needs, and reads datasets for
the pipelines, so that neither the audio nor the vision code imports the other
or reaches up into ``wavegen.data``.
"""
