"""The caller generator: Python source for one call shape, compiled once per declaration.

A generated caller takes positional parameters (named after the C parameters where that is
safe), inlines each converter's checks (its ``fast`` expression or ``emit`` statements),
falls back on its ``convert`` for anything else, calls a ctypes function pointer that has no
``argtypes``, raises a queued callback error, writes ``_Out_``/``_Inout_`` values back and
converts the result. Variadic functions get one caller per tuple of variadic type specs.
"""

from __future__ import annotations

import builtins
import ctypes
import inspect
import linecache
from collections.abc import Callable, Sequence
from typing import Any

from koffi_typed import _callers, callstate
from koffi_typed.callplan import Plan
from koffi_typed.converters.pointers import (
    CallbackConverter,
    PointerConverter,
    StringConverter,
    may_return_temporary,
)
from koffi_typed.converters.scalars import BoolConverter, FloatConverter, IntConverter
from koffi_typed.marshal import flat_record
from koffi_typed.names import verbatim

__all__ = ["COMPILED", "compiled_caller", "generate", "signature"]

#: Whether the compiled callers (`koffi_typed._callers`) are there: in the mypyc build only.
COMPILED = not (_callers.__file__ or "").endswith(".py")


def generate(plan: Plan, name: str) -> Callable[..., Any]:
    """The generated function ``name`` calling through ``plan``."""
    env = _base_env(plan)
    params = _parameter_names(len(plan.converters), [a.name for a in plan.info.arguments])
    if plan.info.variadic:
        lines = _variadic_lines(name, params)
    else:
        lines = _call_lines(name, plan.converters, plan.result, env, params, plan.stack_tail,
                            plan.tail_fill, plan.leads)
    return _compile(name, lines, env, f"<koffi_typed call {plan.name} {plan.address:#x}>")


def signature(plan: Plan) -> inspect.Signature:
    """The signature a generated caller of ``plan`` has (positional-only, C names)."""
    names = _parameter_names(len(plan.converters), [a.name for a in plan.info.arguments])
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY)
                              for n in names])


def _base_env(plan: Plan) -> dict[str, Any]:
    """Names the generated callers use (recorded on the plan, which may swap ``_f``)."""
    env = {"_f": plan.cfunc, "_r": plan.result.result, "_watch": callstate.watch,
           "_raise": callstate.raise_pending,
           "_variadic": lambda fixed, pairs: _call_variadic(plan, fixed, pairs),
           "_byref": ctypes.byref, "_char_at": ctypes.c_char.from_buffer,
           "_vcache": plan.variadic_cache}
    plan.envs.append(env)
    return env


def compiled_caller(plan: Plan, converters: list[Any] | None = None) -> Any:
    """A compiled ``Call<n>`` for ``plan`` (or for ``converters``, a variadic call shape), or
    ``None`` when the signature needs generated code: records by value, write-backs,
    callbacks, ABI reordering, more than `_callers.MAX_ARITY` arguments, or the pure build."""
    if not COMPILED:
        return None
    if converters is None:
        if plan.info.variadic or any(plan.leads) or any(plan.stack_tail):
            return None
        converters = plan.converters
    result = plan.result
    if len(converters) > _callers.MAX_ARITY or getattr(result, "sret", False) or \
            hasattr(result, "emit_result") or may_return_temporary(result, converters):
        return None
    args = []
    for conv in converters:
        arg = _compiled_arg(conv)
        if arg is None:
            return None
        args.append(arg)
    caller = _callers.make_caller(plan.cfunc, callstate.watch, callstate.raise_pending,
                                  bool(result.raw_result), result.result, args)
    plan.compiled.append(caller)
    return caller


def _compiled_arg(conv: Any) -> Any:
    """The `_callers.Arg` reproducing ``conv``'s fast path, or ``None`` if it has none the
    compiled callers know (it writes back, emits statements, binds callbacks...)."""
    if conv.writes_back or hasattr(conv, "emit_write_back") or \
            isinstance(conv, CallbackConverter):
        return None
    kind = type(conv)
    convert = conv.convert
    if kind is IntConverter and not conv.swap:
        if conv.size <= 4:
            return _callers.Arg(_callers.ARG_INT, convert, lo=conv.lo, hi=conv.hi)
        plo, phi = (max(conv.lo, -(1 << 31)), (1 << 31) - 1) if conv.in_register else (1, 0)
        return _callers.Arg(_callers.ARG_WIDE, convert, lo=conv.lo, hi=conv.hi, plo=plo,
                            phi=phi, wrap=conv.ctype)
    if kind is BoolConverter:
        return _callers.Arg(_callers.ARG_BOOL, convert)
    if kind is FloatConverter:
        limit = conv.limit if conv.limit is not None else float("inf")
        return _callers.Arg(_callers.ARG_FLOAT, convert, limit=limit, wrap=conv.ctype)
    if kind is StringConverter and conv.unit == 1 and conv.direction == "in":
        return _callers.Arg(_callers.ARG_TEXT, convert, byref=ctypes.byref,
                            char_at=ctypes.c_char.from_buffer)
    if kind is PointerConverter and conv.direction == "in" and flat_record(conv.ref) is None:
        return _callers.Arg(_callers.ARG_POINTER, convert, byref=ctypes.byref,
                            char_at=ctypes.c_char.from_buffer)
    if hasattr(conv, "emit"):
        return None
    return _callers.Arg(_callers.ARG_SLOW, convert)


def _call_variadic(plan: Plan, fixed: tuple[object, ...], pairs: tuple[object, ...]) -> Any:
    """The variadic call the generated entry point could not take from its cache: checks the
    type/value pairs, generates a caller for their types and calls it."""
    if len(pairs) % 2:
        raise TypeError(f"{plan.name}(): missing value argument for variadic call "
                        "(pass type, value pairs after the fixed arguments)")
    specs = pairs[::2]
    try:
        caller = plan.variadic_cache[specs]
    except KeyError:
        caller = plan.variadic_cache[specs] = _variadic_caller(plan, specs)
    except TypeError:  # an unhashable type spec: plan this call alone
        caller = _variadic_caller(plan, specs)
    return caller(*fixed, *pairs[1::2])


def _variadic_caller(plan: Plan, specs: tuple[object, ...]) -> Callable[..., Any]:
    """A caller for the fixed arguments plus variadic arguments of ``specs``: compiled where
    it can be, generated otherwise."""
    shape = plan.variadic_shape(specs)
    if not any(shape.leads) and not any(shape.stack_tail):
        compiled = compiled_caller(plan, shape.converters)
        if compiled is not None:
            compiled.__qualname__ = compiled.__name__ = f"{plan.name} (variadic)"
            return compiled  # type: ignore[no-any-return]
    env = _base_env(plan)
    params = _parameter_names(len(shape.converters), [])
    lines = _call_lines("variadic_call", shape.converters, plan.result, env, params,
                        shape.stack_tail, shape.tail_fill, shape.leads)
    return _compile("variadic_call", lines, env,
                    f"<koffi_typed call {plan.name} {len(specs)} varargs>")


def _compile(name: str, lines: list[str], env: dict[str, Any],
             filename: str) -> Callable[..., Any]:
    source = "\n".join(lines) + "\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), env, scope)
    caller: Callable[..., Any] = scope[name]
    return caller


_RESERVED = frozenset(dir(builtins)) | {"keep", "r", "rb", "o"}


def _parameter_names(count: int, declared: list[str | None]) -> list[str]:
    """The generated caller's parameter names: the C names where they are plain identifiers
    that cannot clash with the generated code's own names, ``a<i>`` otherwise."""
    names: list[str] = []
    for i in range(count):
        name = declared[i] if i < len(declared) else None
        if (not name or not verbatim(name) or name.startswith("_") or name in _RESERVED or name in names
                or (name[:1] in "acekr" and name[1:].replace("_", "").isdigit())):
            name = f"a{i}"
        names.append(name)
    return names


def _variadic_lines(name: str, params: list[str]) -> list[str]:
    """A variadic function's entry point: the caller planned for these variadic types (a
    cache hit) gets the fixed arguments and the values; anything else goes the slow way."""
    fixed = "".join(f"{p}, " for p in params)
    return [f"def {name}({fixed}/, *_pairs):" if params else f"def {name}(*_pairs):",
            "    if not len(_pairs) & 1:",
            "        try:",
            "            _caller = _vcache[_pairs[::2]]",
            "        except (KeyError, TypeError):",
            "            pass",
            "        else:",
            f"            return _caller({fixed}*_pairs[1::2])",
            f"    return _variadic(({fixed}), _pairs)"]


def _call_lines(name: str, converters: list[Any], result: Any, env: dict[str, Any],
                params: list[str], stack_tail: Sequence[bool] = (),
                tail_fill: int = 0, leads: Sequence[int] = ()) -> list[str]:
    """The source of a generated caller: positional parameters, inline conversions (each
    converter's ``emit`` statements or ``fast`` expression, with its ``convert`` as the slow
    path), the call, write-backs and the result conversion. The call arguments of the
    converters flagged in ``stack_tail`` go last, after ``tail_fill`` dummy integers (see
    `Plan._sysv_tail`); ``leads`` dummy integers go before each argument's own."""
    scoped = any(isinstance(c, CallbackConverter) for c in converters)
    body: list[str] = []
    call_args: list[str] = []
    tail_args: list[str] = ["0"] * tail_fill if any(stack_tail) else []
    for i, conv in enumerate(converters):
        arg_list = tail_args if i < len(stack_tail) and stack_tail[i] else call_args
        if i < len(leads):
            arg_list += ["0"] * leads[i]
        var = params[i]
        env[f"_c{i}"] = conv.convert
        # slow paths get a list keeping their temporaries alive until the call returns
        slow = f"_c{i}({var}, keep)" if scoped else f"_c{i}({var}, (k{i} := []))"
        emit = getattr(conv, "emit", None)
        if emit is not None:
            lines, args = emit(var, i, slow, env)
            body += lines
            arg_list += args
        else:
            env[f"_T{var}"] = conv.ctype
            body.append(f"c{i} = {conv.fast(var, slow)}")
            arg_list.append(f"c{i}")
    call_args += tail_args
    sret = getattr(result, "sret", False)
    if sret:
        env["_sret"] = result.buffer
        body.insert(0, "rb = _sret()")
        call_args.insert(0, "rb")
    body += [f"r = _f({', '.join(call_args)})", "if _watch:", "    _raise()"]
    for i, conv in enumerate(converters):
        if conv.writes_back:
            env[f"_w{i}"] = conv.write_back
            emit_back = getattr(conv, "emit_write_back", None)
            body += emit_back(params[i], i, env) if emit_back is not None else \
                [f"_w{i}({params[i]}, c{i})"]
    raw = "rb" if sret else "r"
    emit_result = getattr(result, "emit_result", None)
    if emit_result is not None:
        tail = emit_result(raw, env)
    elif may_return_temporary(result, converters):
        env["_rt"] = result.result_within
        temporaries = "".join(f"{a}, " for a in call_args)
        tail = [f"return _rt(r, ({temporaries}))"]
    else:
        tail = ["return r" if result.raw_result else f"return _r({raw})"]
    lines = [f"def {name}({', '.join([*params, '/'])}):" if params else f"def {name}():"]
    if scoped:
        # a transient callback's lease is released promptly even when the call raises;
        # otherwise the temporaries simply die with the frame
        lines += ["    keep = []", "    try:"]
        lines += [f"        {b}" for b in body + tail]
        lines += ["    finally:", "        keep.clear()"]
    else:
        lines += [f"    {b}" for b in body + tail]
    return lines
