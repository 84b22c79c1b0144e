"""The project's exceptions.

The core raises these; the CLI is the one place that turns them into a
one-line message and exit status 1. Anything else reaching the user is a bug.
"""


class SrsError(Exception):
    """Base class of every error srs reports to its user."""


class DatabaseError(SrsError):
    """The database cannot be opened, is not ours, or is from a newer srs."""


class GuideError(SrsError):
    """A Markdown guide or deck file cannot be turned into cards."""


class NotFoundError(SrsError):
    """A deck, card or other named thing does not exist."""


class ConfigError(SrsError):
    """A setting has an invalid value."""


class StoryError(SrsError):
    """A story or pitch file cannot be read."""


class NothingChanged(SrsError):
    """The user closed the editor without changing the text: nothing is saved (a command may say so and succeed)."""


class EditorError(SrsError):
    """The user's editor failed; the text typed so far is kept in a draft file."""


class ExportError(SrsError):
    """A package cannot be written."""


class AnswerSentError(SrsError):
    """An answer a sync has already sent cannot be taken back: Anki's sync has no way to remove a review."""


class ImportError_(SrsError):  # noqa: N801 - the builtin name ImportError is taken
    """A file cannot be imported."""
