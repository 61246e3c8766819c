# SPDX-License-Identifier: Apache-2.0
"""Command line (also `python -m kakeyalattice ...`):
  kakeyalattice stage075 {run,audit,sweep} --out DIR [options]   DeepSeek-V4-Flash audit
  kakeyalattice rd --dim D --out DIR [--data FILE.npy]           rate–distortion landscape
  kakeyalattice codecs                                           the factory's codec names"""
from __future__ import annotations

import argparse
import shlex
import sys


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output directory for stage075.json/.md and plots")
    p.add_argument("--passages", type=int, default=8, help="number of built-in passages (1..8)")
    p.add_argument("--tokens", type=int, default=2048, help="tokens per passage")
    p.add_argument("--q-min", type=int, default=1)
    p.add_argument("--q-max", type=int, default=80)
    p.add_argument("--lattices", default="e8,d4,z",
                   help="comma list of e8,d4,z (e8 required for Q_min)")
    p.add_argument("--host-model", default=None,
                   help="local host model dir (WordPiece vocab + safetensors)")
    p.add_argument("--v4-weights", default=None, help="dir of trained V4-Flash safetensors shards")
    p.add_argument("--layers", default="3,20,20",
                   help="layer counts SWA,CSA,HCA for the strategies")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="C++ worker threads (0 = all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="kakeyalattice", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage075", help="DeepSeek-V4-Flash Stage 0.75 audit and Q sweep")
    st_sub = st.add_subparsers(dest="what", required=True)
    for name, helptext in (("run", "audit + sweep + reports"),
                           ("audit", "the n-passage audit only"),
                           ("sweep", "the Q sweep only")):
        _add_common(st_sub.add_parser(name, help=helptext))
    rd = sub.add_parser("rd", help="rate-distortion landscape of every codec family")
    rd.add_argument("--dim", type=int, action="append", required=True, help="vector dim (repeatable)")
    rd.add_argument("--out", required=True, help="output directory (rd_d<dim>.json/.md/.png)")
    rd.add_argument("--data", default=None, help=".npy file of your own vectors (rows, dim) instead of N(0,1)")
    rd.add_argument("--n", type=int, default=16384, help="Gaussian vectors per dim")
    rd.add_argument("--seed", type=int, default=0)
    rd.add_argument("--families", default=None, help="comma list of codec families (default: all)")
    sub.add_parser("codecs", help="list the codec factory's names and parameters")
    args = ap.parse_args(argv)

    if args.cmd == "codecs":
        from . import codec_info

        for name, info in codec_info().items():
            params = ", ".join(f"{k}={'(required)' if v is None else v}" for k, v in info["params"].items())
            print(f"{name:10s} {params:28s} {info['summary']}")
        return 0
    if args.cmd == "rd":
        from .bench import run_rd, write_rd

        fams = None if args.families is None else [f.strip() for f in args.families.split(",") if f.strip()]
        for d in args.dim:
            res = run_rd(d, args.n, args.data, args.seed, fams)
            files = write_rd(res, args.out, "kakeyalattice " + shlex.join(argv))
            print(f"wrote {args.out}/{files['markdown']} ({len(res['rows'])} settings, {res['seconds']} s)")
        return 0

    from . import set_num_threads
    from .dsv4 import V4FlashConfig
    from .stage075 import run_stage075, write_reports

    try:
        n_swa, n_csa, n_hca = (int(v) for v in args.layers.split(","))
    except ValueError:
        ap.error(f"--layers {args.layers!r} must be three integers SWA,CSA,HCA")
    lattices = tuple(v.strip() for v in args.lattices.split(",") if v.strip())
    if args.what != "audit" and "e8" not in lattices:
        ap.error("--lattices must include e8")
    set_num_threads(args.threads)
    cfg = V4FlashConfig(n_swa_layers=n_swa, n_csa_layers=n_csa, n_hca_layers=n_hca)
    result = run_stage075(cfg, args.passages, args.tokens, args.q_min, args.q_max, lattices,
                          args.host_model, args.v4_weights, args.seed,
                          do_audit=args.what in ("run", "audit"),
                          do_sweep=args.what in ("run", "sweep"),
                          show=not args.quiet, command="kakeyalattice " + shlex.join(argv))
    files = write_reports(result, args.out)
    print(f"wrote {args.out}/{files['json']}, {args.out}/{files['markdown']}"
          + (f", plots {files.get('plots')}" if files.get("plots") else "")
          + f" in {result['timing_s']['total']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
