"""JWST data-quality bits, as the pipeline defines them (``stdatamodels`` dqflags).

Re-exported under short names so both sides spell them the same way.
"""
from stdatamodels.jwst.datamodels import dqflags

PIXEL = dqflags.pixel
GROUP = dqflags.group

DO_NOT_USE = PIXEL["DO_NOT_USE"]
SATURATED = PIXEL["SATURATED"]
JUMP_DET = PIXEL["JUMP_DET"]
DEAD = PIXEL["DEAD"]
HOT = PIXEL["HOT"]
NO_GAIN_VALUE = PIXEL["NO_GAIN_VALUE"]
NO_LIN_CORR = PIXEL["NO_LIN_CORR"]
UNRELIABLE_DARK = PIXEL["UNRELIABLE_DARK"]
REFERENCE_PIXEL = PIXEL["REFERENCE_PIXEL"]
NON_SCIENCE = PIXEL["NON_SCIENCE"]
NO_SAT_CHECK = PIXEL["NO_SAT_CHECK"]
FLUX_ESTIMATED = PIXEL["FLUX_ESTIMATED"]

#: Group flags that leave no usable sample in a group (a jump does not: it starts a segment).
UNUSABLE_GROUP = DO_NOT_USE | SATURATED

