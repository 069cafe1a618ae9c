"""The wire: frames and arrays that cannot carry code, with strict limits."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from grader.observations import parse_frame
from grader.wire import FrameDecoder, ProtocolError, decode_array, encode_array, encode_frame


def test_frames_survive_arbitrary_chunking():
    data = encode_frame({"a": 1}) + encode_frame({"b": [1, 2]})
    decoder, bodies = FrameDecoder(), []
    for i in range(len(data)):
        bodies += decoder.feed(data[i : i + 1])
    assert [json.loads(b) for b in bodies] == [{"a": 1}, {"b": [1, 2]}]


def test_oversized_frames_are_refused_before_they_arrive():
    with pytest.raises(ProtocolError):
        FrameDecoder(max_frame=10).feed((100).to_bytes(4, "big"))


@pytest.mark.parametrize("shape", [(), (1,), (3, 4), (0,)])
def test_arrays_keep_shape_and_values(shape):
    array = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    back = decode_array(encode_array(array, "float64"))
    assert back.shape == shape and np.array_equal(back, array)


def test_arrays_with_wrong_length_or_dtype_are_refused():
    good = encode_array(np.zeros(4), "float64")
    with pytest.raises(ProtocolError):
        decode_array({**good, "shape": [5]})
    with pytest.raises(ProtocolError):
        decode_array({**good, "dtype": "object"})
    with pytest.raises(ProtocolError):
        decode_array({**good, "data": "not base64!"})


def test_a_pickle_is_just_bytes_of_a_declared_dtype():
    payload = base64.b64encode(b"cos\nsystem\n(S'echo pwned'\ntR.").decode()
    with pytest.raises(ProtocolError):
        decode_array({"dtype": "float64", "shape": [4], "data": payload})


def test_frames_from_the_child_are_validated_strictly():
    with pytest.raises(ProtocolError):
        parse_frame(b'{"type": "call", "index": 0, "outcome": "returned", "verdict": "passed"}')
    with pytest.raises(ProtocolError):
        parse_frame(b'{"type": "call", "index": "0", "outcome": "returned"}')
    with pytest.raises(ProtocolError):
        parse_frame(b'{"type": "score", "value": 50}')
    ok = parse_frame(b'{"type": "call", "index": 0, "outcome": "returned", "value": {"t": "float", "v": "nan"}}')
    assert np.isnan(ok.value.value)
