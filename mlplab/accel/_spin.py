"""The spinning wait of :mod:`mlplab.accel.handoff`, compiled by numba (cached on disk):
atomic reads of a flag in memory, the CPU's ``pause`` between them on x86-64."""

import platform

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64")


@intrinsic
def _load_acquire(typingctx, address):
    """The int64 at ``address``, read as an atomic load (not hoisted out of a loop)."""
    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        return builder.load_atomic(pointer, "acquire", 8)
    return types.int64(types.intp), codegen


@intrinsic
def _pause(typingctx):
    """x86's ``pause`` (a spinning loop's hint to the CPU); nothing elsewhere."""
    def codegen(context, builder, signature, args):
        if _X86:
            fn = builder.module.declare_intrinsic(
                "llvm.x86.sse2.pause", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@numba.njit(nogil=True, cache=True)
def spin(address, tries):
    """True as soon as the int64 at ``address`` is 1; False after ``tries`` tries."""
    for _ in range(tries):
        if _load_acquire(address) == 1:
            return True
        _pause()
    return False
