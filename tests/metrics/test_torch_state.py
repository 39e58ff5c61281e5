"""Reading a state dict file without running it: the tensors torch itself reads back, and nothing else."""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from bench.metrics.model_based.torch_state import read_state_dict

torch = pytest.importorskip("torch")


def _saved(obj, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def test_the_tensors_are_the_ones_torch_reads_back():
    torch.manual_seed(0)
    base = torch.randn(6, 5)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    state = {**module.state_dict(), "half": torch.randn(3).half(), "double": torch.randn(2, 2).double(),
             "long": torch.arange(7), "flags": torch.tensor([True, False]), "scalar": torch.tensor(2.5),
             "empty": torch.zeros(0, 3),
             # views saved with the storage they share: an offset, and strides that are not the contiguous ones
             "rows": base[2:4], "columns": base[:, 1], "transposed": base.t()}
    data = _saved(state)
    got = read_state_dict(data)
    expected = torch.load(io.BytesIO(data), weights_only=True)
    assert set(got) == set(expected)
    for key, tensor in expected.items():
        assert got[key].shape == tuple(tensor.shape), key
        np.testing.assert_array_equal(got[key], tensor.numpy(), err_msg=key)


def test_a_file_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"mlp.weight": Payload()}, protocol=2))
    with pytest.raises(ValueError, match=r"it names (posix|os)\.system, which a state dict of tensors does not"):
        read_state_dict(buffer.getvalue())
    assert not marker.exists()


@pytest.mark.parametrize("make, message", [
    (lambda: b"not a checkpoint", "not a zip archive written by torch.save"),
    (lambda: _saved({"w": torch.ones(2)}, _use_new_zipfile_serialization=False), "not a zip archive"),
    (lambda: _saved([torch.ones(2)]), "the instruction EMPTY_LIST, which a state dict of tensors does not use"),
    (lambda: _saved({"w": 1.5}), "something else than names and tensors"),
])
def test_what_is_not_a_state_dict_of_tensors_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        read_state_dict(make())


def test_tensor_data_that_is_missing_or_too_short_is_refused():
    data = _saved({"w": torch.ones(4)})
    source = zipfile.ZipFile(io.BytesIO(data))
    for change in ("drop", "cut"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in source.namelist():
                if name.endswith("/data/0"):
                    if change == "drop":
                        continue
                    archive.writestr(name, source.read(name)[:8])
                else:
                    archive.writestr(name, source.read(name))
        with pytest.raises(ValueError, match="is missing" if change == "drop" else "is not 4 values"):
            read_state_dict(buffer.getvalue())
