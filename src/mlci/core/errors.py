"""The one exception family of the package.

Stage code raises these for problems a user can fix (bad params, bad data); `cli.command` turns them into one line on
stderr and a non-zero exit. Anything else is a bug and keeps its traceback.
"""


class PipelineError(Exception):
    """Base class: a problem with the user's inputs, stated with its fix."""


class ParamsError(PipelineError):
    """`params.yaml` is missing, malformed, or holds a value that is not allowed."""


class DataError(PipelineError):
    """The data file is missing, unreadable, or fails a schema or quality check."""


class ModelError(PipelineError):
    """A stored model is missing, unreadable or holds types we do not trust."""


class RevisionError(PipelineError):
    """A git revision to compare with is unknown or unreadable, or `git`/`dvc` failed to compare it."""


class ReleaseError(PipelineError):
    """A release package is missing, incomplete or tampered with, or a version or stage is not valid."""
