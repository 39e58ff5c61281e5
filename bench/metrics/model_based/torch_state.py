"""Tensors from a file written by ``torch.save(module.state_dict(), path)``, read without running anything in it.

torch's own reader rebuilds Python objects from the file, the way any
serialized Python object stream is read: a file made to do so can run code.
This reader runs nothing. It reads the zip archive torch.save has written
since PyTorch 1.6 (``<name>/data.pkl``, the object stream; ``<name>/data/<key>``,
the tensors' bytes; ``<name>/byteorder``) and walks the object stream's
opcodes with `pickletools.genops`, which only decodes them, keeping the few a
state dict of tensors is made of: strings, numbers, tuples, dicts, an
``OrderedDict``, torch's ``_rebuild_tensor_v2`` and its storage types. Any
other name the stream asks for is refused, as is any other opcode. The
result is a dict of numpy arrays; the older format of torch.save (before
1.6, not a zip archive) is refused.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from typing import Any

import numpy as np

#: torch's storage types -> numpy's dtype (byte order added from the archive).
STORAGE_DTYPES = {"FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "LongStorage": "i8",
                  "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
                  "BoolStorage": "?"}
_PUSH_ARG = frozenset({"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE", "BINSTRING", "SHORT_BINSTRING",
                       "STRING", "BININT", "BININT1", "BININT2", "INT", "LONG", "LONG1", "LONG4", "BINFLOAT", "FLOAT"})
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
#: An entry of the archive is read only up to this size once unpacked (the files read here are small).
MAX_ENTRY_BYTES = 64 << 20


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, prefix: str, order: str) -> None:
        self.archive = archive
        self.prefix = prefix
        self.order = order

    def find(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return lambda *items: dict(*items)
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self.tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return ("dtype", self.order + STORAGE_DTYPES[name])
        raise ValueError(f"it names {module}.{name}, which a state dict of tensors does not")

    def storage(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], tuple)
                and pid[1][:1] == ("dtype",) and isinstance(pid[2], str)):
            raise ValueError("a tensor's storage is not described as torch describes it")
        try:
            raw = self.archive.read(f"{self.prefix}data/{pid[2]}")
        except KeyError:
            raise ValueError(f"the tensor data {pid[2]!r} is missing") from None
        dtype = np.dtype(pid[1][1])
        if len(raw) % dtype.itemsize or len(raw) // dtype.itemsize != pid[4]:
            raise ValueError(f"the tensor data {pid[2]!r} is not {pid[4]} values")
        return np.frombuffer(raw, dtype=dtype)

    @staticmethod
    def tensor(storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> np.ndarray:
        if not (isinstance(storage, np.ndarray) and isinstance(offset, int) and isinstance(size, tuple)
                and isinstance(stride, tuple) and len(size) == len(stride)
                and all(isinstance(n, int) and n >= 0 for n in (*size, *stride)) and offset >= 0):
            raise ValueError("a tensor is not described as torch describes it")
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
        if last >= storage.size:
            raise ValueError("a tensor reaches past its data")
        view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                               strides=[s * storage.itemsize for s in stride], writeable=False)
        return np.array(view)


def read_state_dict(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a state dict file's bytes, by name; ValueError saying what is wrong with any other file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValueError("not a zip archive written by torch.save (PyTorch 1.6 or later)") from None
    if any(info.file_size > MAX_ENTRY_BYTES for info in archive.infolist()):
        raise ValueError(f"it holds an entry of more than {MAX_ENTRY_BYTES} bytes")
    streams = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(streams) != 1:
        raise ValueError("a zip archive, but not one written by torch.save (no <name>/data.pkl)")
    prefix = streams[0][:-len("data.pkl")]
    order = "<"
    if f"{prefix}byteorder" in names:
        order = {b"little": "<", b"big": ">"}.get(archive.read(f"{prefix}byteorder").strip(), "")
        if not order:
            raise ValueError("its byte order is neither little nor big")
    reader = _Reader(archive, prefix, order)
    try:
        result = _run(archive.read(streams[0]), reader)
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"its object stream is not a state dict ({type(e).__name__})") from None
    if not (isinstance(result, dict) and all(isinstance(k, str) and isinstance(v, np.ndarray)
                                             for k, v in result.items())):
        raise ValueError("it holds something else than names and tensors")
    return result


def _run(stream: bytes, reader: _Reader) -> Any:
    """Walk the opcodes of `stream`, building only strings, numbers, tuples, dicts and tensors."""
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}

    def since_mark() -> list[Any]:
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    for op, arg, _ in pickletools.genops(stream):
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            return stack.pop()
        if name in _PUSH_ARG:
            stack.append(arg)
        elif name in _CONSTANTS:
            stack.append(_CONSTANTS[name])
        elif name == "MARK":
            marks.append(len(stack))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo[int(arg)])
        elif name == "GLOBAL":
            module, _, qualified = str(arg).partition(" ")
            stack.append(reader.find(module, qualified))
        elif name == "STACK_GLOBAL":
            qualified, module = stack.pop(), stack.pop()
            stack.append(reader.find(str(module), str(qualified)))
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = stack[-n:]
            del stack[-n:]
            stack.append(tuple(items))
        elif name == "TUPLE":
            stack.append(tuple(since_mark()))
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "SETITEM":
            value, key = stack.pop(), stack.pop()
            _dict(stack[-1])[key] = value
        elif name == "SETITEMS":
            items = since_mark()
            _dict(stack[-1]).update(zip(items[::2], items[1::2]))
        elif name == "BINPERSID":
            stack.append(reader.storage(stack.pop()))
        elif name == "REDUCE":
            args, func = stack.pop(), stack.pop()
            if not (callable(func) and isinstance(args, tuple)):
                raise ValueError("it calls something that is not a state dict's")
            stack.append(func(*args))
        elif name == "BUILD":
            stack.pop()  # a state dict's own attributes (its _metadata): not tensors
            _dict(stack[-1])
        else:
            raise ValueError(f"its object stream has the instruction {name}, which a state dict of tensors does not use")
    raise ValueError("its object stream does not end")


def _dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("its object stream sets items of something that is not a dict")
    return value
