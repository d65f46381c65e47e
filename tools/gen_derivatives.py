"""Generate optsim/derivatives.py: vectorised NumPy code for the value, gradient and
Hessian of every built-in function that is a formula, derived by sympy.

The formulas below are the source of truth for the derived code; each built-in's
``formula`` in optsim/functions.py must be the same text (tests/test_hessians.py
checks it). Run after changing a formula: ``python tools/gen_derivatives.py``.

Non-differentiable points follow PyTorch autograd: ``d|u|/du = sign(u)`` (0 at 0)
and the second derivative of ``|u|`` is 0. Where torch's chain rule multiplies
that 0 by ``sqrt'(0) = inf`` and returns NaN (Bukin's ridge, Schwefel's axes,
the lines of the Eggholder, the origin under ``sqrt(x**2 + y**2)``), the
generated code returns 0 instead, so a run never sees NaN from a finite point.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sympy
from sympy.printing.numpy import NumPyPrinter

#: name -> formula, in x (1D) or x and y (2D); the functions' ``formula`` text
FORMULAS: dict[str, str] = {
    # the original built-ins (hand-written value and gradient; Hessian derived here)
    "cubic": "x**3 - 5*x**2 + 10",
    "quadratic": "x**2",
    "double-well": "(x**2 - 1)**2 + 0.3*x",
    "quartic": "x**4",
    "wavy": "0.25*x**2 + sin(3*x)",
    "abs-smooth": "sqrt(1 + x**2) - 1",
    "steep-cliff": "0.25*x**2 + 4*tanh(8*(x - 1))",
    "bowl": "x**2 + y**2",
    "elongated-bowl": "x**2 + 9*y**2",
    "zigzag-bowl": "0.5*x**2 + 8*y**2",
    "tilted-bowl": "x**2 + 1.8*x*y + y**2",
    "rosenbrock": "(1 - x)**2 + 100*(y - x**2)**2",
    "beale": "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "rastrigin": "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
    "booth": "(x + 2*y - 7)**2 + (2*x + y - 5)**2",
    "saddle": "x**2 - y**2",
    "goldstein-price": "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
                       "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))",
    "mccormick": "sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 1",
    "six-hump-camel": "(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
    "ackley": "-20*exp(-0.2*sqrt(0.5*(x**2 + y**2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y)))"
              " + e + 20",
    # the literature's functions (Surjanovic & Bingham, Virtual Library of Simulation
    # Experiments; Jamil & Yang 2013 for bird and leon), in two dimensions
    "bukin6": "100*sqrt(abs(y - 0.01*x**2)) + 0.01*abs(x + 10)",
    "cross-in-tray": "-0.0001*(abs(sin(x)*sin(y)*exp(abs(100 - sqrt(x**2 + y**2)/pi))) + 1)**0.1",
    "drop-wave": "-(1 + cos(12*sqrt(x**2 + y**2)))/(0.5*(x**2 + y**2) + 2)",
    "eggholder": "-(y + 47)*sin(sqrt(abs(x/2 + y + 47))) - x*sin(sqrt(abs(x - (y + 47))))",
    "griewank": "(x**2 + y**2)/4000 - cos(x)*cos(y/sqrt(2)) + 1",
    "holder-table": "-abs(sin(x)*cos(y)*exp(abs(1 - sqrt(x**2 + y**2)/pi)))",
    "levy": "sin(pi*(1 + (x - 1)/4))**2 + ((x - 1)/4)**2*(1 + 10*sin(pi*(1 + (x - 1)/4) + 1)**2)"
            " + ((y - 1)/4)**2*(1 + sin(2*pi*(1 + (y - 1)/4))**2)",
    "levy13": "sin(3*pi*x)**2 + (x - 1)**2*(1 + sin(3*pi*y)**2) + (y - 1)**2*(1 + sin(2*pi*y)**2)",
    "schaffer2": "0.5 + (sin(x**2 - y**2)**2 - 0.5)/(1 + 0.001*(x**2 + y**2))**2",
    "schaffer4": "0.5 + (cos(sin(abs(x**2 - y**2)))**2 - 0.5)/(1 + 0.001*(x**2 + y**2))**2",
    "schwefel": "837.9658 - x*sin(sqrt(abs(x))) - y*sin(sqrt(abs(y)))",
    "shubert": "(cos(2*x + 1) + 2*cos(3*x + 2) + 3*cos(4*x + 3) + 4*cos(5*x + 4) + 5*cos(6*x + 5))"
               "*(cos(2*y + 1) + 2*cos(3*y + 2) + 3*cos(4*y + 3) + 4*cos(5*y + 4)"
               " + 5*cos(6*y + 5))",
    "bohachevsky1": "x**2 + 2*y**2 - 0.3*cos(3*pi*x) - 0.4*cos(4*pi*y) + 0.7",
    "sum-squares": "x**2 + 2*y**2",
    "trid": "(x - 1)**2 + (y - 1)**2 - x*y",
    "dixon-price": "(x - 1)**2 + 2*(2*y**2 - x)**2",
    "zakharov": "x**2 + y**2 + (0.5*x + y)**2 + (0.5*x + y)**4",
    "matyas": "0.26*(x**2 + y**2) - 0.48*x*y",
    "three-hump-camel": "2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2",
    "easom": "-cos(x)*cos(y)*exp(-((x - pi)**2 + (y - pi)**2))",
    "michalewicz": "-sin(x)*sin(x**2/pi)**20 - sin(y)*sin(2*y**2/pi)**20",
    "branin": "(y - 5.1/(4*pi**2)*x**2 + 5/pi*x - 6)**2 + 10*(1 - 1/(8*pi))*cos(x) + 10",
    "styblinski-tang": "0.5*(x**4 - 16*x**2 + 5*x + y**4 - 16*y**2 + 5*y)",
    "bird": "sin(x)*exp((1 - cos(y))**2) + cos(y)*exp((1 - sin(x))**2) + (x - y)**2",
    "leon": "100*(y - x**3)**2 + (1 - x)**2",
}

#: the built-ins whose value and gradient the registry takes from the generated code
#: (the others keep their hand-written, tuned ones)
LITERATURE = list(FORMULAS)[list(FORMULAS).index("bukin6"):]

ONE_D = ("cubic", "quadratic", "double-well", "quartic", "wavy", "abs-smooth", "steep-cliff")

X, Y = sympy.symbols("x y", real=True)
LOCALS = {"x": X, "y": Y, "e": sympy.E, "pi": sympy.pi, "abs": sympy.Abs, "sqrt": sympy.sqrt}

HEADER = '''"""Value, gradient and Hessian code of the built-in formulas, derived by sympy.

GENERATED by tools/gen_derivatives.py from its FORMULAS table: do not edit; change
the table and run ``python tools/gen_derivatives.py``. Each function takes an (N, D)
array; values return (N,), gradients (N, D), Hessians (N, D, D).

At non-differentiable points the derivative of ``|u|`` is ``sign(u)`` (0 at 0) and
its second derivative 0, as in PyTorch's autograd; where torch returns NaN
(``0 * sqrt'(0)``, e.g. on Bukin's ridge) these return 0 for finite points.
"""

# ruff: noqa: E501, F841

from __future__ import annotations

import numpy

#: the formulas this code was generated from (name -> formula text)
FORMULAS: dict[str, str] = {
'''


def _expr(text: str) -> sympy.Expr:
    return sympy.sympify(text, locals=LOCALS, rational=False)


def _clean(e: sympy.Expr) -> sympy.Expr:
    return e.replace(lambda t: isinstance(t, sympy.DiracDelta), lambda t: sympy.S.Zero)


def _body(exprs: list[sympy.Expr], dim: int, indent: str = "    ") -> tuple[list[str], list[str]]:
    printer = NumPyPrinter({"fully_qualified_modules": True, "allow_unknown_functions": False})
    subs, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("t"))
    lines = [f"{indent}x = p[:, 0]"] + ([f"{indent}y = p[:, 1]"] if dim == 2 else [])
    lines += [f"{indent}{s} = {printer.doprint(v)}" for s, v in subs]
    return lines, [printer.doprint(r) for r in reduced]


def _ident(name: str) -> str:
    return name.replace("-", "_")


def generate() -> str:
    out = [HEADER]
    out += [f"    {name!r}: {text!r},\n" for name, text in FORMULAS.items()]
    out.append("}\n\n\n")
    out.append('''def _finite(out: numpy.ndarray, p: numpy.ndarray) -> numpy.ndarray:
    """NaN -> 0 in the rows whose point is finite (the 0 * inf of a kink)."""
    bad = numpy.isnan(out)
    if bad.any():
        rows = numpy.isfinite(p).all(axis=1).reshape((-1,) + (1,) * (out.ndim - 1))
        out[bad & rows] = 0.0
    return out


''')
    for name, text in FORMULAS.items():
        e = _expr(text)
        dim = 1 if name in ONE_D else 2
        args = [X, Y][:dim]
        ident = _ident(name)
        grads = [_clean(sympy.diff(e, a)) for a in args]
        hess = [[_clean(sympy.diff(g, b)) for b in args] for g in grads]
        if name in LITERATURE:
            lines, (v,) = _body([e], dim)
            out.append(f"def value_{ident}(p: numpy.ndarray) -> numpy.ndarray:\n")
            out.append(f'    """{name}: {text}"""\n')
            out.append("    with numpy.errstate(all=\"ignore\"):\n")
            out += ["    " + ln + "\n" for ln in lines]
            out.append(f"        return numpy.broadcast_to({v}, x.shape).astype(numpy.float64)\n\n\n")
            lines, gs = _body(grads, dim)
            out.append(f"def gradient_{ident}(p: numpy.ndarray) -> numpy.ndarray:\n")
            out.append(f'    """The gradient of {name}, (N, {dim})."""\n')
            out.append("    with numpy.errstate(all=\"ignore\"):\n")
            out += ["    " + ln + "\n" for ln in lines]
            out.append(f"        out = numpy.empty((p.shape[0], {dim}))\n")
            out += [f"        out[:, {i}] = {g}\n" for i, g in enumerate(gs)]
            out.append("    return _finite(out, p)\n\n\n")
        flat = [hess[i][j] for i in range(dim) for j in range(i, dim)]
        lines, hs = _body(flat, dim)
        out.append(f"def hessian_{ident}(p: numpy.ndarray) -> numpy.ndarray:\n")
        out.append(f'    """The Hessian of {name}, (N, {dim}, {dim})."""\n')
        out.append("    with numpy.errstate(all=\"ignore\"):\n")
        out += ["    " + ln + "\n" for ln in lines]
        out.append(f"        out = numpy.empty((p.shape[0], {dim}, {dim}))\n")
        k = 0
        for i in range(dim):
            for j in range(i, dim):
                out.append(f"        out[:, {i}, {j}] = {hs[k]}\n")
                if i != j:
                    out.append(f"        out[:, {j}, {i}] = out[:, {i}, {j}]\n")
                k += 1
        out.append("    return _finite(out, p)\n\n\n")
    return "".join(out).rstrip() + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "optsim" /
                                          "derivatives.py"))
    args = ap.parse_args()
    Path(args.out).write_text(generate(), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
