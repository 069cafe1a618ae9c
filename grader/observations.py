"""What the child reports, validated at the boundary, and the grader's own record of each call.

Every frame from the child is untrusted: it is parsed into these strict models (unknown keys,
wrong types, bad array lengths and disallowed dtypes are all rejected) before anything looks at
it. A frame that fails validation counts as the submission interfering with the grader.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, JsonValue, PrivateAttr, TypeAdapter, ValidationError, model_validator

from grader.wire import ProtocolError, decode_array

Text = Annotated[str, Field(max_length=20_000)]
Count = Annotated[int, Field(ge=0, le=1 << 40)]
"""A count or size from the child: never negative, never astronomically large."""
Size = Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)]
"""A figure size or resolution: the child clamps what the student asked for into this range."""


class ObsModel(BaseModel):
    """Base of observation models: strict, closed, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _ArrayData(ObsModel):
    dtype: str
    shape: list[Annotated[int, Field(ge=0)]]
    data: str
    _array: np.ndarray = PrivateAttr()

    @model_validator(mode="after")
    def _decode(self) -> _ArrayData:
        try:
            self._array = decode_array({"dtype": self.dtype, "shape": self.shape, "data": self.data})
        except ProtocolError as exc:
            raise ValueError(str(exc)) from None
        self._array.flags.writeable = False
        return self

    @property
    def array(self) -> np.ndarray:
        """The decoded, read-only array."""
        return self._array


class TensorValue(_ArrayData):
    """A plain `torch.Tensor` (not a subclass) that the student returned."""

    t: Literal["tensor"]
    requires_grad: bool


class NdarrayValue(_ArrayData):
    """A numpy array that the student returned."""

    t: Literal["ndarray"]


class IntValue(ObsModel):
    """A Python int (or numpy integer, named in `numpy`)."""

    t: Literal["int"]
    v: Annotated[int, Field(ge=-(2**63), lt=2**63)]
    """Within 64 bits: the child describes larger ints instead of sending them."""
    numpy: str | None = None


class FloatValue(ObsModel):
    """A Python float (or numpy float); non-finite values travel as strings."""

    t: Literal["float"]
    v: float | Literal["nan", "inf", "-inf"]
    numpy: str | None = None

    @property
    def value(self) -> float:
        """The float, NaN and infinities included."""
        return float(self.v)


class BoolValue(ObsModel):
    """A Python bool (or numpy bool)."""

    t: Literal["bool"]
    v: bool
    numpy: str | None = None


class NoneValue(ObsModel):
    """None."""

    t: Literal["none"]


class StrValue(ObsModel):
    """A string, truncated by the child."""

    t: Literal["str"]
    v: Text


class SequenceValue(ObsModel):
    """A tuple or list of values."""

    t: Literal["tuple", "list"]
    items: Annotated[list[Value], Field(max_length=64)]


class ObjectValue(ObsModel):
    """Anything else, known only by its class name."""

    t: Literal["object"]
    cls: Annotated[str, Field(max_length=400)]


class TooLargeValue(ObsModel):
    """A value too large to send, described."""

    t: Literal["too_large"]
    what: Annotated[str, Field(max_length=400)]


Value = Annotated[
    Union[TensorValue, NdarrayValue, IntValue, FloatValue, BoolValue, NoneValue, StrValue,
          SequenceValue, ObjectValue, TooLargeValue],
    Field(discriminator="t"),
]
SequenceValue.model_rebuild()


class StudentFrame(ObsModel):
    """One frame of the student's own code in a traceback."""

    line: Annotated[int, Field(ge=0)]
    function: Text
    text: Text


class ExceptionReport(ObsModel):
    """An exception raised in the student's code or by a library it called."""

    type: Text
    module: Text
    message: Text
    origin: Literal["submission", "library", "autograd", "exercise"]
    """Who raised it: the student's own `raise`, a library, autograd during a backward/grad run of the call
    (a library too), or `exercise`: the child building the call's inputs from the spec, before the student's function ran."""
    frames: Annotated[list[StudentFrame], Field(max_length=20)]

    @property
    def line(self) -> int | None:
        """The innermost line of the student's code on the way to the exception."""
        return self.frames[-1].line if self.frames else None


class AutogradEvent(ObsModel):
    """One run of autograd: reverse mode at the engine (`grad`, `backward`), or forward mode (`jvp`, `unpack_dual`, `jacfwd`)."""

    api: Literal["grad", "backward", "func", "functional", "jvp", "unpack_dual", "jacfwd"]
    """`func`, `functional`: reverse-mode runs started by torch.func or torch.autograd.functional (which call grad)."""
    mode: Literal["reverse", "forward"] = "reverse"
    create_graph: bool = False
    retain_graph: bool = False


class ProvenanceItem(ObsModel):
    """Whether one tensor a call returned is, bit for bit, a gradient autograd produced during the call."""

    path: Annotated[list[Annotated[int, Field(ge=0, le=64)]], Field(max_length=1)]
    """Where it was in the returned value: `[]` the value itself, `[1]` the second item of a tuple."""
    autograd: bool
    route: Annotated[str, Field(max_length=40)] | None = None
    """How autograd made it: `grad`, `backward`, `forward`, `func.grad`, ..."""
    after_create_graph: bool = False
    """It came after a run with create_graph=True in the same call (a derivative of a derivative)."""


class Series(ObsModel):
    """A curve (Line2D) or point set (scatter) of a figure."""

    label: Text
    kind: Literal["line", "scatter"]
    x: _ArrayData
    y: _ArrayData
    truncated: bool
    legend_label: Text | None = None
    """The text of the legend entry attached to this very artist, however the legend was made."""


class AxesReport(ObsModel):
    """One axes of a figure."""

    title: Text
    xlabel: Text
    ylabel: Text
    legend: list[Text] | None
    texts: list[Text]
    series: Annotated[list[Series], Field(max_length=64)]


class FigureReport(ObsModel):
    """A figure the student drew, with a PNG rendered at a capped size."""

    size_inches: tuple[Size, Size]
    requested_size_inches: tuple[Size, Size] | None
    requested_dpi: Size | None
    legends: Annotated[list[Annotated[list[Text], Field(max_length=64)]], Field(max_length=4)]
    suptitle: Text
    axes: Annotated[list[AxesReport], Field(max_length=16)]
    png: Annotated[str, Field(max_length=6 << 20)] | None
    png_error: Text | None = None
    _png_bytes: bytes | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _decode_png(self) -> FigureReport:
        if self.png is not None:
            try:
                self._png_bytes = base64.b64decode(self.png, validate=True)
            except ValueError:
                raise ValueError("png is not base64") from None
        return self

    @property
    def png_bytes(self) -> bytes | None:
        """The decoded PNG, checked to be base64 when the frame arrived."""
        return self._png_bytes


class CallEvents(ObsModel):
    """What happened during a call besides its result."""

    ops: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=2000)]
    watched: dict[str, int]
    autograd: Annotated[list[AutogradEvent], Field(max_length=1000)]
    autograd_count: Count
    autograd_failures: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=20)] = []
    """Exceptions raised inside autograd's engine during the call, by type."""
    arcs: Annotated[list[tuple[int, int, int]], Field(max_length=20000)] | None = None
    figures: Annotated[list[FigureReport], Field(max_length=8)] | None = None


class CallReport(ObsModel):
    """The child's report of one call."""

    type: Literal["call"]
    index: int
    outcome: Literal["returned", "raised", "missing"]
    duration: float | None = None
    value: Value | None = None
    exception: ExceptionReport | None = None
    grad: Value | None = None
    grad_error: Literal["not_tensor", "no_graph", "failed", "unused"] | None = None
    grad_message: Text | None = None
    graph_signature: Annotated[str, Field(max_length=64)] | None = None
    """A digest of the autograd graph behind the returned tensor (for `grad: true` calls): equal for equal computations."""
    events: CallEvents | None = None
    provenance: Annotated[list[ProvenanceItem], Field(max_length=64)] | None = None
    """For each tensor returned: whether autograd produced it in this call."""


class FunctionReport(ObsModel):
    """Whether the submission defines a function, and where."""

    defined: bool
    callable: bool = False
    signature: Text | None = None
    line: int | None = None


class ModuleReport(ObsModel):
    """The child's report after running the submission's top-level statements."""

    type: Literal["module"]
    ok: bool
    """False only when nothing could be run at all; a statement that raised is in `errors`."""
    exception: ExceptionReport | None = None
    errors: Annotated[list[ExceptionReport], Field(max_length=20)] = []
    """Top-level statements that raised, in order; the statements after each still ran."""
    errors_total: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    stopped: bool = False
    """A statement called sys.exit() (or raised KeyboardInterrupt): the statements after it did not run."""
    functions: dict[str, FunctionReport] = {}
    attributes: dict[str, Value] = {}


class SetupReport(ObsModel):
    """A spawned child's first frame, written before any student code runs: the isolation it set up."""

    type: Literal["setup"]
    isolation: dict[str, JsonValue]


class DoneReport(ObsModel):
    """The child made every planned call."""

    type: Literal["done"]


Frame = Annotated[Union[SetupReport, ModuleReport, CallReport, DoneReport], Field(discriminator="type")]
_FRAME = TypeAdapter(Frame)


def parse_frame(body: bytes) -> SetupReport | ModuleReport | CallReport | DoneReport:
    """Validate one frame body (JSON) from the child; ProtocolError when the protocol does not allow it."""
    try:
        return _FRAME.validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"invalid frame: {exc.error_count()} errors, first at {where}: {first['msg']}") from None


CallStatus = Literal["returned", "raised", "missing", "timeout", "crashed", "not_run", "invalid"]


@dataclass(frozen=True)
class CallOutcome:
    """The grader's record of one planned call: the child's report, or what the grader saw instead."""

    index: int
    status: CallStatus
    report: CallReport | None = None
    wall_time: float = 0.0
    """Seconds between the call's start and its report, as measured by the grader."""
    detail: str | None = None
    """For crashes: how the child ended (`killed by SIGSEGV`, `exit status 3`); for invalid: what was wrong."""
    reason: str | None = None
    """Why, as a code: for timeouts and calls not run `call_timeout`, `total_time`, `exercise_time`,
    `earlier_timeout`, `earlier_crash`, `too_much_data`, `not_reached`; for crashes `out_of_memory`."""
