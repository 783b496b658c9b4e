"""Every exception censorscope raises, in one place.

    CensorscopeError            base; the CLI prints it without a traceback
    +-- InputError              a file the user gave us is wrong (names file, place, fix)
    |   +-- ScenarioError       a lab scenario (TOML) is wrong
    |   +-- TargetListError     a URL list / Citizen Lab CSV is wrong
    |   +-- PlatformError       a platform file is wrong, or a platform name unknown
    +-- LabError                the lab could not start or stopped answering
    +-- StoreError              the measurement store cannot be opened or written
    +-- HelperError             the control helper answered badly or not at all
    +-- AlertError              an alert could not be delivered (censorscope.cli.alerts)
    +-- EngineError             Apache Spark is missing (pyspark, Java) or a job failed
                                (censorscope.engine.spark)
    +-- BadRequest              a client sent a server of ours no valid request within its
                                limits (net.httpserve and the dashboard answer it with
                                `status`; never a user's error)

Failures *observed on the network* are not exceptions: they are data (OONI failure
strings, see `censorscope.probe.failure`) recorded in the measurement. Bytes that do not
parse as a wire format (`wire.quic.NotInitial`, `wire.netlink.NetlinkError`,
`wire.ooni.FormatProblem` for a document that is no OONI or Censored Planet measurement,
all ValueErrors) and a QUIC connection closed by its peer (`probe.h3.QuicFailure`) are caught
by the code that reads them and turned into such data, or, for an imported file, into one
line naming the file, the line and the reason (`inputs.documents.Problem`).
"""

from __future__ import annotations


class CensorscopeError(Exception):
    """Base class of every error censorscope raises on purpose."""


class InputError(CensorscopeError):
    """A user-supplied file is wrong. The message names the file, the place and the fix."""

    def __init__(self, file: str, where: str, problem: str, fix: str = "") -> None:
        self.file, self.where, self.problem, self.fix = file, where, problem, fix
        msg = f"{file}: {where}: {problem}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)


class ScenarioError(InputError):
    """A lab scenario is malformed."""


class TargetListError(InputError):
    """A target list is malformed."""


class PlatformError(InputError):
    """A platform definition is malformed, or a platform asked for is not defined."""


class LabError(CensorscopeError):
    """The lab could not be started or controlled."""


class StoreError(CensorscopeError):
    """The measurement store failed."""


class HelperError(CensorscopeError):
    """The control helper could not be reached or answered nonsense."""


class AlertError(CensorscopeError):
    """An alert could not be delivered."""


class EngineError(CensorscopeError):
    """The distributed engine (Spark) could not be started or a job of it failed."""


class BadRequest(CensorscopeError):
    """A client sent one of our servers what is not a request within the limits."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
