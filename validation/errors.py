"""The errors the validation commands report as ``miri-testbed: error: ...`` (exit 2).

Kept apart from the modules that raise them, which import pandas, the simulator and the rest, so that the command
line can name them without importing every command's modules.
"""


class ResultsError(ValueError):
    """A results table, study folder or baseline cannot be used; the message says why."""


class ScenarioError(ValueError):
    """A scenario or suite file is malformed; the message names the key."""


class ScoreInputError(ValueError):
    """A truth file, product or catalog cannot be scored; the message says why."""
